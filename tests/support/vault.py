"""A real Vault server on 127.0.0.1 for tests, benchmarks and the demo.

Two flavours, both running the binary that `make engines` builds into .engines/bin/vault:

* `start_dev()`: `vault server -dev` (in-memory storage, already unsealed, KV v2 at `secret/`), with a
  random root token; the quickest way to a working Vault.
* `start_file_server()`: a production-style server with file storage and a TCP listener without TLS,
  initialised (one key share) and unsealed by script. It can be stopped, killed, restarted on the same port
  and storage, sealed and unsealed, which is what the reliability tests and benchmarks need.

Plain Python (no pytest): tests/fixtures/vault.py wraps it. Secrets (root token, unseal key) live only in
memory: the dev token is passed through the environment, never argv, and the server's output goes through a
filter that redacts them before it reaches the log file (mode 0600), since `vault server -dev` prints both.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import hvac

from tests.support import engines

REDACTED = "<redacted>"
JSON = dict[str, Any]


class VaultError(RuntimeError):
    """The test Vault could not be found, started or driven; the message says what and where to look."""


def find_vault() -> pathlib.Path:
    """The Vault binary: .engines/bin/vault, then `vault` or `bao` on PATH (same order as engine_path)."""
    return engines.find_engine("vault", VaultError, "bao")


def vault_version(binary: pathlib.Path | None = None) -> str:
    """`vault version`'s first line, e.g. 'Vault v1.21.4 ...'."""
    out = subprocess.run([str(binary or find_vault()), "version"], capture_output=True, text=True,
                         timeout=30, check=True)
    return out.stdout.strip().splitlines()[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (starts retry if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the test process dies, so no server outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _server_env() -> dict[str, str]:
    # The caller's VAULT_* settings (a real VAULT_TOKEN, VAULT_ADDR) must neither leak into nor steer the
    # test server.
    return {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}


def _write_private(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


class _Server:
    """One `vault server` process whose output is copied, redacted, into a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: pathlib.Path,
                 secrets_to_hide: Callable[[], list[str]]) -> None:
        self.log = log
        self._secrets = secrets_to_hide
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._out = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
        self.popen = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=log.parent, preexec_fn=_die_with_parent,
        )
        self._pump = threading.Thread(target=self._copy, name=f"vault-log-{self.popen.pid}", daemon=True)
        self._pump.start()

    def _copy(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            line = raw.decode("utf-8", "replace")
            if line.lstrip().startswith(("Unseal Key", "Root Token")):
                line = line.split(":", 1)[0] + f": {REDACTED}\n"
            for secret in self._secrets():
                if secret:
                    line = line.replace(secret, REDACTED)
            self._out.write(line)
        self._out.close()

    def exited(self) -> str | None:
        code = self.popen.poll()
        if code is None:
            return None
        self._pump.join(2)
        return f"vault exited with status {code}; last lines of {self.log}:\n{_tail(self.log)}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self._pump.join(5)


def _tail(path: pathlib.Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _http(addr: str, method: str, path: str, body: JSON | None = None, token: str | None = None,
          timeout: float = 10.0) -> tuple[int, JSON]:
    """One Vault API call; returns (status, JSON body). The token travels only in a header."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{addr}/v1/{path.lstrip('/')}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Vault-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except ValueError:
        parsed = {"raw": raw.decode(errors="replace")}
    return status, parsed if isinstance(parsed, dict) else {"data": parsed}


def _wait(what: str, check: Callable[[], bool], server: _Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        reason = server.exited()
        if reason:
            raise VaultError(f"waiting for {what}: {reason}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError) as err:
            last = str(err)
        time.sleep(0.05)
    raise VaultError(f"timed out after {timeout:.0f}s waiting for {what} ({last}); log: {server.log}\n"
                     f"{_tail(server.log)}")


def _health(addr: str) -> int:
    # standbyok/sealedcode etc. left at defaults: 200 active, 429 standby, 501 uninitialised, 503 sealed.
    return _http(addr, "GET", "sys/health", timeout=2.0)[0]


def _is_active(addr: str) -> bool:
    return _health(addr) == 200


def _addr_in_use(server: _Server) -> bool:
    return server.popen.poll() is not None and "address already in use" in _tail(server.log, 10)


# Servers still running when the interpreter exits are stopped (a benchmark that crashed, a Ctrl-C).
_LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


class VaultBase:
    """What both flavours share: address, root token, clients and raw API calls."""

    addr: str
    workdir: pathlib.Path
    _token: str
    _server: _Server | None

    @property
    def token(self) -> str:
        """The root token (memory only)."""
        return self._token

    @property
    def log(self) -> pathlib.Path:
        return self.workdir / "vault.log"

    def new_client(self, token: str | None = None) -> hvac.Client:
        """A fresh hvac client, with the root token unless another is given."""
        return hvac.Client(url=self.addr, token=self._token if token is None else token, timeout=30)

    def request(self, method: str, path: str, body: JSON | None = None, *, token: str | None = None,
                ok: tuple[int, ...] = (200, 204)) -> JSON:
        """A raw API call (`path` under /v1/) with the root token unless another is given.

        Raises VaultError with Vault's error messages when the status is not in `ok`."""
        status, data = _http(self.addr, method, path, body, self._token if token is None else token)
        if status not in ok:
            raise VaultError(f"{method} /v1/{path.lstrip('/')}: HTTP {status}: {data.get('errors', data)}")
        return data

    def status(self) -> int:
        """sys/health's status code: 200 active, 501 uninitialised, 503 sealed (raises if not reachable)."""
        return _health(self.addr)

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self._server.popen.pid if self.running and self._server else None

    def enable_file_audit(self, name: str = "file", path: pathlib.Path | None = None) -> pathlib.Path:
        """Enable a file audit device at `name`; returns the audit log path (one JSON object a line)."""
        path = path or self.workdir / f"audit-{name}.log"
        self.request("PUT", f"sys/audit/{name}", {"type": "file", "options": {"file_path": str(path)}})
        return path

    def __enter__(self) -> VaultBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        raise NotImplementedError


def read_audit(path: pathlib.Path, kind: str = "request") -> list[JSON]:
    """Entries of a file audit log of type `kind` ("request" or "response"; "" for all)."""
    entries: list[JSON] = []
    if not path.exists():
        return entries
    for line in path.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            if not kind or entry.get("type") == kind:
                entries.append(entry)
    return entries


class VaultDevServer(VaultBase):
    """`vault server -dev` on 127.0.0.1: unsealed, in-memory, KV v2 at `secret/`, root token `token`."""

    def __init__(self, addr: str, token: str, workdir: pathlib.Path, server: _Server,
                 own_workdir: bool) -> None:
        self.addr, self._token, self.workdir, self._server = addr, token, workdir, server
        self._own_workdir = own_workdir
        self.client = self.new_client()
        _LIVE.add(self)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.client.adapter.close()
        if self._own_workdir and os.environ.get("VAULT_TEST_KEEP_LOGS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_dev(binary: pathlib.Path | None = None, *, workdir: pathlib.Path | None = None,
              timeout: float = 60.0, log_level: str = "info") -> VaultDevServer:
    """Start `vault server -dev` on a free 127.0.0.1 port and wait until it is active.

    The work directory (log) is a fresh temporary one unless given; a temporary one is removed on stop()
    unless VAULT_TEST_KEEP_LOGS=1.
    """
    binary = binary or find_vault()
    own = workdir is None
    wd = pathlib.Path(tempfile.mkdtemp(prefix="vault-dev-")) if workdir is None else workdir
    wd.mkdir(parents=True, exist_ok=True)
    token = f"dev-{secrets.token_urlsafe(24)}"  # custom IDs may not use the hvs. prefix
    env = _server_env()
    env["VAULT_DEV_ROOT_TOKEN_ID"] = token  # never in argv: /proc/<pid>/cmdline is world-readable
    last_error = ""
    for _ in range(3):
        port = free_port()
        addr = f"http://127.0.0.1:{port}"
        argv = [str(binary), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
                "-dev-no-store-token", f"-log-level={log_level}"]
        server = _Server(argv, env, wd / "vault.log", lambda: [token])
        try:
            _wait(f"dev Vault at {addr}", functools.partial(_is_active, addr), server, timeout)
        except VaultError as err:
            server.stop()
            if _addr_in_use(server):
                last_error = str(err)
                continue
            if own:
                shutil.rmtree(wd, ignore_errors=True)
            raise
        return VaultDevServer(addr, token, wd, server, own)
    raise VaultError(f"no free port for the dev Vault after 3 tries: {last_error}")


_FILE_CONFIG = """\
storage "file" {{
  path = "{data}"
}}

listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}

api_addr      = "http://127.0.0.1:{port}"
disable_mlock = true
ui            = false
log_level     = "{log_level}"
"""


class VaultFileServer(VaultBase):
    """A non-dev Vault with file storage under `workdir/data`, on a fixed 127.0.0.1 port.

    `root_token` and the single unseal key are kept in memory only. stop()/start()/restart() keep the
    storage and the port; kill() simulates a crash (SIGKILL); seal()/unseal() drive the seal via the API.
    """

    def __init__(self, binary: pathlib.Path, workdir: pathlib.Path, port: int, own_workdir: bool,
                 log_level: str = "info", timeout: float = 60.0) -> None:
        self.binary, self.workdir, self.port = binary, workdir, port
        self.addr = f"http://127.0.0.1:{port}"
        self.config = workdir / "vault.hcl"
        self.data_dir = workdir / "data"
        self.timeout = timeout
        self._own_workdir = own_workdir
        self._token = ""
        self._unseal_key = ""
        self._server = None
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(self.config, _FILE_CONFIG.format(data=self.data_dir, port=port, log_level=log_level))
        self.client = self.new_client()
        _LIVE.add(self)

    @property
    def root_token(self) -> str:
        return self._token

    def _spawn(self) -> None:
        if self.running:
            raise VaultError(f"Vault at {self.addr} is already running")
        self._server = _Server([str(self.binary), "server", f"-config={self.config}"], _server_env(),
                               self.log, lambda: [self._token, self._unseal_key])
        _wait(f"Vault at {self.addr} to listen", lambda: _health(self.addr) in (200, 429, 501, 503),
              self._server, self.timeout)

    def _wait_active(self) -> None:
        assert self._server is not None
        _wait(f"Vault at {self.addr} to become active", lambda: _health(self.addr) == 200, self._server,
              self.timeout)

    def initialize(self) -> None:
        """sys/init with one key share, then unseal; keeps the key and root token in memory."""
        status, body = _http(self.addr, "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        if status != 200:
            raise VaultError(f"sys/init: HTTP {status}: {body.get('errors', '')}")
        self._unseal_key = body["keys_base64"][0]
        self._token = body["root_token"]
        self.client = self.new_client()
        self.unseal()

    def start(self, *, unseal: bool = True) -> None:
        """Start the process (same config, storage and port); unseal it unless asked not to."""
        self._spawn()
        if unseal and self._unseal_key:
            self.unseal()

    def stop(self) -> None:
        """Graceful stop (SIGTERM); storage kept. Safe to call twice."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self._server is not None:
            self._server.stop(signal.SIGKILL)
            self._server = None

    def restart(self, *, unseal: bool = True) -> None:
        self.stop()
        self.start(unseal=unseal)

    def seal(self) -> None:
        self.request("PUT", "sys/seal")
        if self._server is not None:
            _wait(f"Vault at {self.addr} to seal", lambda: _health(self.addr) == 503, self._server,
                  self.timeout)

    def unseal(self) -> None:
        status, body = _http(self.addr, "PUT", "sys/unseal", {"key": self._unseal_key})
        if status != 200 or body.get("sealed"):
            raise VaultError(f"sys/unseal: HTTP {status}: {body.get('errors', 'still sealed')}")
        self._wait_active()

    def close(self) -> None:
        """Stop and remove a temporary work directory (storage included)."""
        self.stop()
        self.client.adapter.close()
        if self._own_workdir and os.environ.get("VAULT_TEST_KEEP_LOGS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_file_server(binary: pathlib.Path | None = None, *, workdir: pathlib.Path | None = None,
                      timeout: float = 60.0, log_level: str = "info") -> VaultFileServer:
    """Start a file-storage Vault on a free port, initialise and unseal it; returns it active."""
    binary = binary or find_vault()
    own = workdir is None
    wd = pathlib.Path(tempfile.mkdtemp(prefix="vault-file-")) if workdir is None else workdir
    last_error = ""
    for _ in range(3):
        vault = VaultFileServer(binary, wd, free_port(), own, log_level, timeout)
        try:
            vault.start()
            vault.initialize()
        except VaultError as err:
            in_use = vault._server is not None and _addr_in_use(vault._server)
            vault.stop()
            if in_use:
                last_error = str(err)
                continue
            if own:
                shutil.rmtree(wd, ignore_errors=True)
            raise
        return vault
    raise VaultError(f"no free port for the file-storage Vault after 3 tries: {last_error}")


@contextlib.contextmanager
def dev_server(**kwargs: Any) -> Iterator[VaultDevServer]:
    """`with dev_server() as vault:` — always stopped on exit."""
    vault = start_dev(**kwargs)
    try:
        yield vault
    finally:
        vault.stop()


@contextlib.contextmanager
def file_server(**kwargs: Any) -> Iterator[VaultFileServer]:
    """`with file_server() as vault:` — always stopped (and its temporary storage removed) on exit."""
    vault = start_file_server(**kwargs)
    try:
        yield vault
    finally:
        vault.close()
