"""Driving a real sidekick process against a real Vault, and watching its files while faults happen.

Plain Python (no pytest), shared by the fault suite, the security checks and the benchmarks:

* `provision(vault)` sets up what every scenario reads: userpass login, a KV v2 secret, a PKI role with a
  short TTL and an SSH OTP role (a real, leased, revocable secret that needs nothing outside Vault).
* `Sidekick` runs `sidekick --config FILE` as a subprocess (as uid 65534 when we are root, so file modes
  really restrict it), with its log captured to a file and its status endpoints on a free port.
* `Watcher` samples the output files in a thread and records every sample that is missing (after the file
  first appeared) or does not parse completely.
* `wait_for` is the one polling primitive: bounded, with a message saying what was awaited and the last
  observation.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from tests.support.vault import VaultBase

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIDEKICK = ROOT / ".venv" / "bin" / "sidekick"
NOBODY = 65534

# Every secret value a scenario created and every log/metrics text a sidekick produced in this process:
# the security checks scan the lot (tests/security/test_no_leaks.py).
CREATED_SECRETS: set[str] = set()
COLLECTED_TEXTS: list[tuple[str, str]] = []


class FaultError(AssertionError):
    """A bounded wait ran out or a scenario could not be set up; the message says what and why."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; raise FaultError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (OSError, ValueError, KeyError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise FaultError(f"timed out after {timeout:.0f}s waiting for {what}; last observation: {last!r}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_value(prefix: str) -> str:
    """A fresh, recognisable secret value, remembered for the leak scan."""
    value = f"{prefix}-{secrets.token_hex(12)}"
    CREATED_SECRETS.add(value)
    return value


# ------------------------------------------------------------------------------------------ Vault setup
class Provisioned:
    """What `provision` created: names, the user's credentials, the paths the sidekick reads."""

    def __init__(self, username: str, password: str, kv_value: str) -> None:
        self.username = username
        self.password = password
        self.kv_value = kv_value
        self.kv_path = "kv/data/app/db"
        self.pki_path = "pki/issue/app"
        self.otp_path = "ssh/creds/otp"


POLICY = """
path "kv/data/app/*" { capabilities = ["read"] }
path "kv/metadata/app/*" { capabilities = ["read"] }
path "pki/issue/app" { capabilities = ["create", "update"] }
path "ssh/creds/otp" { capabilities = ["create", "update"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }
"""


def provision(vault: VaultBase, *, cert_ttl: str = "20s", lease_ttl: str = "20s", token_ttl: str = "60s",
              token_max_ttl: str = "10m") -> Provisioned:
    """Mounts, a policy and a userpass user on a fresh Vault (root token)."""
    req = vault.request
    req("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}})
    req("POST", "sys/mounts/pki", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    req("POST", "pki/root/generate/internal", {"common_name": "faults-ca.example", "ttl": "8760h",
                                              "key_type": "ec", "key_bits": 256})
    req("POST", "pki/roles/app", {"allowed_domains": "example", "allow_subdomains": True, "ttl": cert_ttl,
                                  "max_ttl": cert_ttl, "key_type": "ec", "key_bits": 256,
                                  "no_store": False})
    req("POST", "sys/mounts/ssh", {"type": "ssh", "config": {"default_lease_ttl": lease_ttl,
                                                              "max_lease_ttl": lease_ttl}})
    req("POST", "ssh/roles/otp", {"key_type": "otp", "default_user": "app", "cidr_list": "127.0.0.0/8"})
    req("PUT", "sys/policies/acl/app", {"policy": POLICY})
    req("POST", "sys/auth/userpass", {"type": "userpass"})
    username, password = "app", secret_value("pw")
    req("POST", f"auth/userpass/users/{username}",
        {"password": password, "token_policies": "app", "token_ttl": token_ttl,
         "token_max_ttl": token_max_ttl})
    kv_value = secret_value("kv")
    put_kv(vault, kv_value)
    # Wait for the KV v2 mount to finish its upgrade before a sidekick reads it.
    wait_for("the KV v2 secret to be readable", lambda: vault.request("GET", "kv/data/app/db",
                                                                     ok=(200, 404)).get("data"), 30)
    return Provisioned(username, password, kv_value)


def put_kv(vault: VaultBase, value: str) -> None:
    CREATED_SECRETS.add(value)
    body = {"data": {"username": "app", "password": value}}
    wait_for("a KV write to succeed", lambda: _try(lambda: vault.request("POST", "kv/data/app/db", body)), 30)


def _try(call: Callable[[], Any]) -> bool:
    try:
        call()
    except Exception:
        return False
    return True


def sidekick_tokens(vault: VaultBase) -> list[str]:
    """Accessors of the userpass tokens Vault currently holds (for revoking the sidekick's token)."""
    keys = vault.request("LIST", "auth/token/accessors").get("data", {}).get("keys", [])
    found = []
    for accessor in keys:
        info = vault.request("POST", "auth/token/lookup-accessor", {"accessor": accessor}).get("data", {})
        if str(info.get("path", "")).startswith("auth/userpass/login"):
            found.append(accessor)
    return found


# ------------------------------------------------------------------------------------------ credentials
class Credentials:
    """A credentials file mounted the Kubernetes way: FILE → ..data/FILE, ..data → ..<timestamp>/.

    `rotate()` writes a new timestamped directory and swaps ..data atomically (rename of a symlink), as
    the kubelet's AtomicWriter does, then removes the old directory.
    """

    def __init__(self, directory: pathlib.Path, username: str, password: str) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "login"
        self._current: pathlib.Path | None = None
        self._write(username, password)
        self.path.symlink_to("..data/login")

    def _write(self, username: str, password: str) -> None:
        stamp = self.dir / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{secrets.token_hex(4)}"
        stamp.mkdir(mode=0o755)
        body = json.dumps({"username": username, "password": password, "method": "userpass"})
        (stamp / "login").write_text(body)
        os.chmod(stamp / "login", 0o444)
        tmp = self.dir / "..data_tmp"
        tmp.symlink_to(stamp.name)
        os.replace(tmp, self.dir / "..data")
        if self._current is not None:
            shutil.rmtree(self._current, ignore_errors=True)
        self._current = stamp

    def rotate(self, username: str, password: str) -> None:
        self._write(username, password)


# ------------------------------------------------------------------------------------------ sidekick
def resources(p: Provisioned, *, otp_revoke: bool = False, cert_ttl: str = "20s") -> list[dict[str, Any]]:
    return [
        {"name": "db", "type": "kv", "path": p.kv_path, "kv_version": 2, "file": "db.json", "format": "json",
         "mode": "0600"},
        {"name": "tls", "type": "pki", "path": p.pki_path, "params": {"common_name": "app.example",
                                                                      "ttl": cert_ttl},
         "file": "tls", "format": "cert", "mode": "0640"},
        {"name": "otp", "type": "write", "path": p.otp_path, "params": {"ip": "127.0.0.1"},
         "file": "otp.json", "format": "json", "mode": "0600", "revoke": otp_revoke},
    ]


def expected_files(out: pathlib.Path) -> dict[pathlib.Path, str]:
    """Output file → kind of content, for the standard resources."""
    return {out / "db.json": "kv-json", out / "otp.json": "otp-json", out / "tls.crt": "cert",
            out / "tls.key": "key", out / "tls.ca": "cert"}


class Sidekick:
    """One `sidekick --config FILE` subprocess in sidecar mode with fast timing."""

    def __init__(self, workdir: pathlib.Path, vault_addr: str, creds: pathlib.Path,
                 res: list[dict[str, Any]], *, timing: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, as_nobody: bool = True,
                 out: pathlib.Path | None = None) -> None:
        self.workdir = workdir
        self.out = out or workdir / "out"
        self.port = free_port()
        self.config_path = workdir / "sidekick.yaml"
        self.log_path = workdir / "sidekick.log"
        self.as_nobody = as_nobody and os.geteuid() == 0
        cfg: dict[str, Any] = {
            "vault": {"addr": vault_addr, "timeout": "3s"},
            "auth": {"method": "userpass", "file": str(creds)},
            "output_dir": str(self.out),
            "listen": f"127.0.0.1:{self.port}",
            "log_level": "debug",
            "timing": {"kv_update": "2s", "backoff_initial": "0.5s", "backoff_cap": "3s",
                       "safety_buffer": "3s", **(timing or {})},
            "resources": res,
        }
        cfg.update(extra or {})
        self.config = cfg
        self.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None

    def prepare_dirs(self) -> None:
        self.out.mkdir(mode=0o750, exist_ok=True)
        if self.as_nobody:
            os.chown(self.out, NOBODY, NOBODY)

    def start(self) -> Sidekick:
        self.prepare_dirs()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        try:
            self.proc = subprocess.Popen(
                [*self._drop(), str(SIDEKICK), "--config", str(self.config_path)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=env,
            )
        finally:
            log.close()
        return self

    def _drop(self) -> list[str]:
        """argv prefix running the sidekick as uid/gid 65534 without capabilities (util-linux setpriv)."""
        if not self.as_nobody:
            return []
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, str]:
        """GET a status endpoint: (status, body); (0, reason) when nothing answers."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=3) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()
        except (OSError, urllib.error.URLError) as err:
            return 0, str(err)

    def ready(self) -> tuple[int, str]:
        return self.get("/readyz")

    def metrics(self) -> str:
        status, body = self.get("/metrics")
        if status == 200:
            COLLECTED_TEXTS.append((f"{self.workdir.name}: /metrics", body))
        return body if status == 200 else ""

    def metric(self, name: str, labels: str = "") -> float:
        """One sample from /metrics (0 when absent)."""
        want = f"{name}{labels}"
        for line in self.metrics().splitlines():
            if line.startswith(want + " "):
                return float(line.split()[-1])
        return 0.0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float, what: str = "/readyz to answer 200") -> str:
        def check() -> str | bool:
            self._assert_running()
            status, body = self.ready()
            return body if status == 200 else False
        return str(wait_for(what, check, timeout, 0.2))

    def wait_not_ready(self, timeout: float, what: str = "/readyz to answer 503") -> str:
        def check() -> str | bool:
            self._assert_running()
            status, body = self.ready()
            return body if status == 503 else False
        return str(wait_for(what, check, timeout, 0.2))

    def _assert_running(self) -> None:
        if not self.alive():
            code = self.proc and self.proc.returncode
            raise FaultError(f"the sidekick exited ({code}); log:\n{self.tail()}")

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig` and wait for the exit code."""
        if self.proc is None:
            raise FaultError("the sidekick was never started")
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise FaultError(f"the sidekick did not exit within {timeout:.0f}s of signal {sig}; log:\n"
                             f"{self.tail()}") from None
        self.collect()
        return self.exit_code

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise FaultError(f"the sidekick did not exit within {timeout:.0f}s; log:\n"
                             f"{self.tail()}") from None
        self.collect()
        return self.exit_code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.collect()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_text().splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records

    def collect(self) -> None:
        COLLECTED_TEXTS.append((f"{self.workdir.name}: sidekick log", self.log_text()))

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


# ------------------------------------------------------------------------------------------ watcher
def check_content(kind: str, data: bytes) -> str:
    """'' when `data` is a complete file of this kind, else what is wrong with it."""
    if not data:
        return "empty"
    try:
        if kind in ("kv-json", "otp-json", "json"):
            doc = json.loads(data)
            if kind == "kv-json" and not (doc.get("password") and doc.get("username")):
                return f"JSON without username/password: keys {sorted(doc)}"
            if kind == "otp-json" and not doc.get("key"):
                return f"JSON without the OTP key: keys {sorted(doc)}"
            return ""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        if kind == "cert":
            x509.load_pem_x509_certificate(data)
        elif kind == "key":
            load_pem_private_key(data, None)
        return ""
    except Exception as exc:
        return f"does not parse ({type(exc).__name__}: {exc})"


class Watcher(threading.Thread):
    """Samples `files` (path → kind) every `period` s; records each missing-after-seen or broken sample."""

    def __init__(self, files: dict[pathlib.Path, str], period: float = 0.02) -> None:
        super().__init__(name="file-watcher", daemon=True)
        self.files = files
        self.period = period
        self.seen: set[pathlib.Path] = set()
        self.samples = 0
        self.problems: list[str] = []
        self.versions: dict[pathlib.Path, list[bytes]] = {p: [] for p in files}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.period)

    def sample(self) -> None:
        for path, kind in self.files.items():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                if path in self.seen:
                    self.problems.append(f"{time.strftime('%H:%M:%S')} {path.name}: missing after it was "
                                         "written")
                continue
            except OSError as exc:
                self.problems.append(f"{path.name}: unreadable ({exc.strerror})")
                continue
            self.seen.add(path)
            self.samples += 1
            problem = check_content(kind, data)
            if problem:
                self.problems.append(f"{time.strftime('%H:%M:%S')} {path.name}: {problem} "
                                     f"({len(data)} bytes)")
            versions = self.versions[path]
            if not versions or versions[-1] != data:
                versions.append(data)

    def changes(self, path: pathlib.Path) -> int:
        return max(0, len(self.versions[path]) - 1)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def assert_clean(self) -> None:
        assert self.samples > 0, "the watcher never saw a file"
        assert not self.problems, (f"{len(self.problems)} bad samples of {self.samples} (first 10):\n"
                                   + "\n".join(self.problems[:10]))


def all_present(files: Iterable[pathlib.Path]) -> bool:
    return all(p.is_file() for p in files)


def kv_password(out: pathlib.Path) -> str:
    try:
        return str(json.loads((out / "db.json").read_text()).get("password", ""))
    except (OSError, ValueError):
        return ""


def otp_key(out: pathlib.Path) -> str:
    try:
        return str(json.loads((out / "otp.json").read_text()).get("key", ""))
    except (OSError, ValueError):
        return ""


def otp_lease(out: pathlib.Path) -> str:
    """The lease id the sidekick recorded for the OTP in its state file ('' when none)."""
    try:
        state = json.loads((out / ".sidekick-state.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(state.get("resources", {}).get("otp", {}).get("lease_id", ""))


def tempdir(prefix: str) -> pathlib.Path:
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


def python() -> str:
    return sys.executable
