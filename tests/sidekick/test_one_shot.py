"""One-shot honesty and credential hygiene, end to end: the real sidekick process against fake Vaults on
loopback (a scripted HTTP server, and a socket that accepts and never answers)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sidekick.config import Config
from sidekick.hooks import hook_env, run_exec
from sidekick.log import log
from sidekick.scheduler import warn_insecure

PASSWORD = "right-Pa55word"
TOKEN = "hvs.fake-token-1234567890"
Answer = tuple[int, dict[str, Any]]


class FakeVault:
    """A scripted Vault: `routes[(METHOD, path)]` gives (status, body) or a callable returning one;
    every request is recorded as (method, path, token)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.routes: dict[tuple[str, str], Answer | Callable[[dict[str, Any]], Answer]] = {
            ("POST", "auth/userpass/login/app"): self._login,
            ("GET", "secret/app"): (200, {"data": {"api_key": "key-value-123"}}),
            ("POST", "auth/token/revoke-self"): (204, {}),
        }
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?", 1)[0].removeprefix("/v1/")
                vault.requests.append((self.command, path, self.headers.get("X-Vault-Token") or ""))
                route = vault.routes.get((self.command, path), (404, {"errors": []}))
                status, answer = route(body) if callable(route) else route
                data = json.dumps(answer).encode() if status != 204 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addr = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _login(body: dict[str, Any]) -> Answer:
        if body.get("password") != PASSWORD:
            return 400, {"errors": ["invalid username or password"]}
        return 200, {"auth": {"client_token": TOKEN, "lease_duration": 3600, "renewable": True}}

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.requests if (m, p) == (method, path))


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    fake = FakeVault()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def login(tmp_path: pathlib.Path) -> Callable[..., pathlib.Path]:
    def make(password: str = PASSWORD) -> pathlib.Path:
        path = tmp_path / f"login-{len(password)}"
        path.write_text(json.dumps({"method": "userpass", "username": "app", "password": password}))
        return path

    return make


def sidekick(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "AUTH_"))}
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "sidekick", *args], capture_output=True, text=True,
                            timeout=timeout, env=env)
    return result, time.monotonic() - start


def messages(stderr: str) -> list[str]:
    return [json.loads(line)["msg"] for line in stderr.splitlines() if line.startswith("{")]


def test_wrong_password_exits_1_at_once(vault: FakeVault, login: Callable[..., pathlib.Path],
                                        tmp_path: pathlib.Path) -> None:
    result, took = sidekick(f"-vault={vault.addr}", f"-auth={login('wrong-password')}", "-one-shot",
                            f"-output={tmp_path / 'out'}", "-cn=secret:secret/app:fmt=json,file=app.json")
    assert result.returncode == 1, result.stderr
    assert took < 5.0
    assert vault.count("POST", "auth/userpass/login/app") == 1  # a 400 is not retried
    assert not (tmp_path / "out" / "app.json").exists()
    assert "wrong-password" not in result.stderr and "Traceback" not in result.stderr


def test_failed_login_exits_1_even_without_resources(vault: FakeVault, login: Callable[..., pathlib.Path],
                                                     tmp_path: pathlib.Path) -> None:
    bad, _ = sidekick(f"-vault={vault.addr}", f"-auth={login('wrong-password')}", "-one-shot",
                      f"-output={tmp_path / 'out'}")
    assert bad.returncode == 1, bad.stderr
    vault.routes[("POST", "auth/userpass/login/app")] = (403, {"errors": ["permission denied"]})
    denied, took = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot",
                            f"-output={tmp_path / 'out'}")
    assert denied.returncode == 1 and took < 5.0
    assert vault.count("POST", "auth/userpass/login/app") == 2
    del vault.routes[("POST", "auth/userpass/login/app")]
    vault.routes[("POST", "auth/userpass/login/app")] = FakeVault._login
    good, _ = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", f"-output={tmp_path / 'out'}")
    assert good.returncode == 0, good.stderr


def test_never_answering_vault_exits_1_within_the_bound(login: Callable[..., pathlib.Path],
                                                        tmp_path: pathlib.Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # accepts (the kernel completes the handshake), never reads, never answers
    try:
        port = listener.getsockname()[1]
        result, took = sidekick(f"-vault=http://127.0.0.1:{port}", f"-auth={login()}", "-one-shot",
                                "-one-shot-timeout=3s", f"-output={tmp_path / 'out'}",
                                "-cn=secret:secret/app")
    finally:
        listener.close()
    assert result.returncode == 1, result.stderr
    assert took < 3.0 + 4.0, took  # the bound plus interpreter start-up
    assert "one-shot: time bound reached" in messages(result.stderr)


def test_transient_errors_are_retried_and_a_404_is_not(vault: FakeVault, login: Callable[..., pathlib.Path],
                                                        tmp_path: pathlib.Path) -> None:
    answers: Iterator[Answer] = iter([(503, {"errors": ["Vault is sealed"]}), (429, {"errors": []}),
                                      (200, {"data": {"api_key": "key-value-123"}})])
    vault.routes[("GET", "secret/app")] = lambda _body: next(answers)
    out = tmp_path / "out"
    result, _ = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", f"-output={out}",
                         "-cn=secret:secret/app:fmt=json,file=app.json")
    assert result.returncode == 0, result.stderr
    assert vault.count("GET", "secret/app") == 3
    assert json.loads((out / "app.json").read_text()) == {"api_key": "key-value-123"}
    missing, took = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", f"-output={out}",
                             "-cn=secret:secret/missing:fmt=json,file=m.json")
    assert missing.returncode == 1 and took < 5.0
    assert vault.count("GET", "secret/missing") == 1


def test_token_revoked_at_one_shot_end_unless_kept(vault: FakeVault, login: Callable[..., pathlib.Path],
                                                   tmp_path: pathlib.Path) -> None:
    args = [f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", f"-output={tmp_path / 'o'}",
            "-cn=secret:secret/app:fmt=json,file=app.json"]
    result, _ = sidekick(*args)
    assert result.returncode == 0, result.stderr
    assert ("POST", "auth/token/revoke-self", TOKEN) in vault.requests
    assert vault.requests[-1][1] == "auth/token/revoke-self"  # the last thing it did
    vault.requests.clear()
    kept, _ = sidekick(*args, "-keep-token")
    assert kept.returncode == 0 and vault.count("POST", "auth/token/revoke-self") == 0


def test_token_kept_while_a_lease_it_created_is_in_use(vault: FakeVault, login: Callable[..., pathlib.Path],
                                                       tmp_path: pathlib.Path) -> None:
    vault.routes[("GET", "database/creds/app")] = (200, {
        "lease_id": "database/creds/app/abc", "lease_duration": 600, "renewable": True,
        "data": {"username": "v-app-1", "password": "db-pass-123"}})
    result, _ = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", f"-output={tmp_path / 'o'}",
                         "-cn=database:database/creds/app:fmt=json,file=db.json")
    assert result.returncode == 0, result.stderr
    assert vault.count("POST", "auth/token/revoke-self") == 0  # Vault would revoke the lease with it
    assert "token kept: revoking it would revoke the leases in use" in messages(result.stderr)


def test_sigterm_revokes_the_token(vault: FakeVault, login: Callable[..., pathlib.Path],
                                   tmp_path: pathlib.Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "AUTH_"))}
    proc = subprocess.Popen([sys.executable, "-m", "sidekick", f"-vault={vault.addr}", f"-auth={login()}",
                             f"-output={tmp_path / 'o'}", "-listen=", "-cn=secret:secret/app:file=app"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "o" / "app").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the sidecar never wrote its file"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert ("POST", "auth/token/revoke-self", TOKEN) in vault.requests
    assert "token revoked" in messages(stderr)


def test_dry_run_says_it_wrote_nothing(vault: FakeVault, login: Callable[..., pathlib.Path],
                                       tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    result, _ = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot", "-dryrun", f"-output={out}",
                         "-cn=secret:secret/app:fmt=json,file=app.json")
    assert result.returncode == 0, result.stderr
    said = messages(result.stderr)
    assert "secret files written" not in said
    assert "dry run: secret files NOT written (and no hooks run)" in said
    assert said[-1] == "dry run: nothing was written"
    assert not out.exists() or not any(out.iterdir())


def test_exit_codes_are_in_help() -> None:
    result, _ = sidekick("-help")
    assert result.returncode == 0
    for text in ("Exit codes:", "-one-shot-timeout DUR", "-keep-token", "bad credentials", "default 60s"):
        assert text in result.stdout


def test_insecure_vault_addresses_are_warned() -> None:
    stream = io.StringIO()
    old, log.stream = log.stream, stream
    try:
        for addr, skip, warned in (("http://vault.example:8200", False, 1),
                                   ("http://127.0.0.1:8200", False, 0), ("http://localhost:8200", False, 0),
                                   ("https://vault.example", True, 1), ("https://vault.example", False, 0),
                                   ("http://10.0.0.1:8200", True, 2)):
            stream.truncate(0)
            stream.seek(0)
            cfg = Config()
            cfg.vault_addr, cfg.tls_skip_verify = addr, skip
            warn_insecure(cfg)
            lines = [json.loads(line) for line in stream.getvalue().splitlines()]
            assert [line["level"] for line in lines] == ["warning"] * warned, (addr, skip, lines)
    finally:
        log.stream = old


def test_exec_hooks_get_a_scrubbed_environment(tmp_path: pathlib.Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", "hvs.must-not-leak")
    monkeypatch.setenv("VAULT_SIDEKICK_PASSWORD", "pw-must-not-leak")
    monkeypatch.setenv("VAULT_SIDEKICK_SECRET_ID", "sid-must-not-leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-must-not-leak")
    monkeypatch.setenv("TZ", "UTC")
    out = tmp_path / "env.json"
    dump = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
    code = run_exec([sys.executable, "-c", dump, str(out)], 10, "r", {"APP_MODE": "reload"})
    assert code == 0
    seen = json.loads(out.read_text())
    assert not any("must-not-leak" in value for value in seen.values())
    assert seen["APP_MODE"] == "reload" and seen["TZ"] == "UTC" and "PATH" in seen
    allowed = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "HOSTNAME", "APP_MODE"}
    assert {k for k in seen if not k.startswith("LC_")} <= allowed
    assert "VAULT_TOKEN" not in hook_env({})


def test_signal_hooks_make_the_sidekick_non_dumpable() -> None:
    code = ("import ctypes; from sidekick.hooks import guard_credentials; libc = ctypes.CDLL(None); "
            "before = libc.prctl(3, 0, 0, 0, 0); ok = guard_credentials(); "
            "print(before, ok, libc.prctl(3, 0, 0, 0, 0))")  # PR_GET_DUMPABLE = 3
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.split() == ["1", "True", "0"]


def test_new_flags_and_config_keys(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sidekick.cli import build_config
    from sidekick.errors import SidekickConfigError

    monkeypatch.setenv("VAULT_TOKEN", "dummy-token-value")
    cfg = build_config(["-one-shot", "-one-shot-timeout=90s", "-keep-token", "-listen=127.0.0.1:9000"])
    assert isinstance(cfg, Config)
    assert (cfg.one_shot_timeout, cfg.keep_token, cfg.listen) == (90.0, True, "127.0.0.1:9000")
    assert Config().one_shot_timeout == 60.0 and Config().keep_token is False
    path = tmp_path / "c.yaml"
    path.write_text("vault: {addr: 'https://v:8200'}\none_shot: true\none_shot_timeout: 2m\n"
                    "keep_token: true\nlisten: '[::1]:9191'\nresources:\n- {name: a, type: kv, path: kv/a, "
                    "on_change: {exec: [/bin/true], env: {APP_MODE: reload}}}\n")
    cfg = build_config([f"--config={path}"])
    assert isinstance(cfg, Config)
    assert (cfg.one_shot_timeout, cfg.keep_token, cfg.listen) == (120.0, True, "[::1]:9191")
    assert cfg.resources[0].hooks.env == {"APP_MODE": "reload"}
    with pytest.raises(SidekickConfigError, match="one_shot_timeout must be a positive"):
        build_config(["-one-shot", "-one-shot-timeout=0s"])
    path.write_text("vault: {addr: 'https://v:8200'}\none_shot: true\nresources:\n- {name: a, type: kv, "
                    "path: kv/a, on_change: {exec: [/bin/true], env: {'bad name': x}}}\n")
    with pytest.raises(SidekickConfigError,
                       match=r"c.yaml:\d+: resources\[0\].on_change.env: .* is not a map of variable names"):
        build_config([f"--config={path}"])


def test_vault_hanging_after_login_is_bounded_and_the_token_revoked(
        vault: FakeVault, login: Callable[..., pathlib.Path], tmp_path: pathlib.Path) -> None:
    release = threading.Event()

    def hang(_body: dict[str, Any]) -> Answer:
        release.wait(60)  # accepts the request, answers nothing
        return 200, {"data": {}}

    vault.routes[("GET", "secret/app")] = hang
    try:
        result, took = sidekick(f"-vault={vault.addr}", f"-auth={login()}", "-one-shot",
                                "-one-shot-timeout=3s", f"-output={tmp_path / 'o'}",
                                "-cn=secret:secret/app:file=app")
    finally:
        release.set()
    assert result.returncode == 1, result.stderr
    assert took < 3.0 + 3.0 + 3.0, took  # the bound, the token's revocation, interpreter start-up
    assert "one-shot: time bound reached" in messages(result.stderr)
    assert ("POST", "auth/token/revoke-self", TOKEN) in vault.requests
