"""On-change hooks (exec, signal, http) and the status endpoints."""

from __future__ import annotations

import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sidekick.config import Hooks
from sidekick.hooks import HookRunner, find_pids, run_exec, run_hooks, send_signal
from sidekick.metrics import Metrics
from sidekick.server import StatusServer

TRAP = """
import signal, sys, time, pathlib
out = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGHUP, lambda *a: out.write_text("got HUP"))
pathlib.Path(sys.argv[2]).write_text("ready")
time.sleep(60)
"""


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_exec_runs_argv_without_shell(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    code = run_exec([sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
                     str(out), "a b; rm -rf /"], 10, "r")
    assert code == 0 and out.read_text() == "a b; rm -rf /"  # the ";" reached argv, no shell


def test_exec_timeout_kills(tmp_path: pathlib.Path) -> None:
    start = time.monotonic()
    assert run_exec([sys.executable, "-c", "import time; time.sleep(30)"], 0.5, "r") is None
    assert time.monotonic() - start < 10


def test_lone_exec_gets_the_file(tmp_path: pathlib.Path) -> None:
    script = tmp_path / "hook.sh"
    script.write_text(f"#!{sys.executable}\nimport sys; open(sys.argv[1] + '.seen', 'w').write('x')\n")
    script.chmod(0o755)
    hooks = Hooks()
    hooks.exec = [str(script)]
    target = tmp_path / "secret.yaml"
    run_hooks(hooks, "r", [str(target)])
    assert (tmp_path / "secret.yaml.seen").exists()


@pytest.fixture
def trap(tmp_path: pathlib.Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process with a name unique to this test (never signal anybody else's python)."""
    script = tmp_path / "sleepy_trap.py"
    script.write_text(TRAP)
    exe = tmp_path / f"sktrap{secrets.token_hex(4)}"
    exe.symlink_to(sys.executable)
    proc = subprocess.Popen([str(exe), str(script), str(tmp_path / "signalled"), str(tmp_path / "ready")])
    wait_for(lambda: (tmp_path / "ready").exists())
    yield proc
    proc.kill()
    proc.wait()


def test_signal_by_pidfile(tmp_path: pathlib.Path, trap: subprocess.Popen[bytes]) -> None:
    pidfile = tmp_path / "app.pid"
    pidfile.write_text(f"{trap.pid}\n")
    hooks = Hooks()
    hooks.signal_name, hooks.signal_pidfile = "HUP", str(pidfile)
    assert send_signal(hooks, "r") == 1
    wait_for(lambda: (tmp_path / "signalled").exists())


def test_signal_by_process_name(tmp_path: pathlib.Path, trap: subprocess.Popen[bytes]) -> None:
    name = pathlib.Path(str(trap.args[0])).name  # type: ignore[index]
    assert find_pids(name) == [trap.pid]
    hooks = Hooks()
    hooks.signal_name, hooks.signal_process = "HUP", name
    assert send_signal(hooks, "r") == 1
    wait_for(lambda: (tmp_path / "signalled").exists())
    assert signal.SIGHUP  # the name maps onto a real signal


def test_http_hook_and_debounce() -> None:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hooks = Hooks()
        hooks.http_url = f"http://127.0.0.1:{server.server_address[1]}/-/reload"
        hooks.debounce = 0.3
        runner = HookRunner()
        for _ in range(5):  # a burst of changes → one call
            runner.trigger("r", hooks, ["f"])
        wait_for(lambda: hits == ["/-/reload"])
        time.sleep(0.5)
        assert hits == ["/-/reload"]
        runner.stop()
    finally:
        server.shutdown()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_status_endpoints() -> None:
    metrics = Metrics(clock=lambda: 1000.0)
    metrics.expiry["db"] = 1600.0
    metrics.inc("renewals", "db")
    metrics.vault_request("ok")
    state = {"ready": False}
    server = StatusServer("127.0.0.1:0", lambda: (True, "ok"),
                          lambda: (state["ready"], "ready" if state["ready"] else "db: not written yet"),
                          metrics.render)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.addr[1]}"
        assert get(base + "/healthz") == (200, "ok\n")
        assert get(base + "/readyz") == (503, "not ready\n")  # the details go to logs and metrics only
        state["ready"] = True
        assert get(base + "/readyz")[0] == 200
        status, text = get(base + "/metrics")
        assert status == 200
        assert 'sidekick_resource_expiry_seconds{resource="db"} 600.0' in text
        assert 'sidekick_resource_renewals_total{resource="db"} 1' in text
        assert 'sidekick_vault_requests_total{outcome="ok"} 1' in text
        assert get(base + "/nope")[0] == 404
        with socket.create_connection(("127.0.0.1", server.addr[1])) as sock:  # garbage never kills it
            sock.sendall(b"\x00\x01garbage\r\n\r\n")
            sock.recv(100)
        assert get(base + "/healthz")[0] == 200
    finally:
        server.stop()
