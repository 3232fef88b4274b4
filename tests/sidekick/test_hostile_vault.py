"""A hostile Vault (a small HTTP server on 127.0.0.1) serves crafted key names and values to a real one-shot
sidekick process writing every format: nothing appears outside the output directory, no other resource's
file changes, sourcing the env files runs nothing, and the exit code is the documented 1."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.sidekick.vaultkit import clean_env, run_once

MARK = "HOSTILE-VALUE-MARK"  # in every hostile value: must never reach a log line
CANARY = "canary"
PAYLOAD = (f"{MARK} $(touch {CANARY}) `touch {CANARY}` $'\\x27'; touch {CANARY}; '\"\n[evil]\n"
           f"credential_process = touch {CANARY}\n#;=\x00\u2028")
UNSAFE_NAMES = ["x/../../../evil", "y/../tls.crt", "..", ".", "/tmp/absolute-evil", "k" * 100_000,
                "a\nb", "\x00", ".hidden"]  # none is one safe file name
HOSTILE_KEYS = [*UNSAFE_NAMES, "crt", "PATH", "BASH_ENV", f"$(touch {CANARY})", "ok"]
GOOD_TLS = {"certificate": "GOOD-CERT", "private_key": "GOOD-KEY", "issuing_ca": "GOOD-CA"}
GOOD_DB = {"username": "app", "password": "good-password"}


def hostile_secret() -> dict[str, str]:
    data = {key: PAYLOAD for key in HOSTILE_KEYS}
    # the keys the fixed formats need, with hostile values
    data.update({"certificate": PAYLOAD, "private_key": PAYLOAD, "issuing_ca": PAYLOAD,
                 "access_key": f"AKIA{MARK}\n[evil]\ncredential_process = touch {CANARY}",
                 "secret_key": MARK, "private_key_data": f"not base64 {MARK}"})
    return data


SECRETS = {
    "good/tls": GOOD_TLS,
    "good/db": GOOD_DB,
    "evil/keys": hostile_secret(),
    # valid shell names, hostile values: written, and sourcing it must run nothing
    "evil/values": {"api_key": PAYLOAD.replace("\x00", ""), "other": f"'{MARK}'\\''$(touch {CANARY})"},
    "evil/spy": {"crt": MARK, "key": MARK},  # txt FILE=tls: tls.crt, tls.key are the certificate's files
}
SECRETS.update({f"one/{i}": {key: PAYLOAD, "ok": "fine"} for i, key in enumerate(UNSAFE_NAMES)})
SECRETS.update({"shape/text": "a string", "shape/list": [1, 2]})  # type: ignore[dict-item]


class HostileVault(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: object | None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0].removeprefix("/v1/")
        if path == "auth/token/lookup-self":
            self._send(200, {"data": {"ttl": 3600, "renewable": False, "policies": ["default"]}})
        elif path.startswith("auth/token/"):
            self._send(204, None)
        elif path in SECRETS:
            self._send(200, {"data": SECRETS[path], "lease_id": "", "lease_duration": 0, "renewable": False})
        else:
            self._send(404, {"errors": []})

    do_GET = do_POST = do_PUT = _route

    def log_message(self, format: str, *args: object) -> None:  # the base class's signature
        pass


@pytest.fixture
def hostile_vault() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileVault)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def snapshot(root: pathlib.Path, skip: pathlib.Path | None = None) -> dict[str, tuple[bytes | str, int]]:
    out: dict[str, tuple[bytes | str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = pathlib.Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            continue
        for name in filenames + dirnames:
            path = here / name
            st = path.lstat()
            body: bytes | str = os.readlink(path) if path.is_symlink() else (
                path.read_bytes() if path.is_file() else "dir")
            out[str(path.relative_to(root))] = (body, st.st_ino if path.is_file() else 0)
    return out


FORMATS = ["json", "yaml", "env", "ini", "csv", "txt", "aws", "cert", "bundle", "certchain", "credential",
           "template"]


def test_hostile_vault_every_format(tmp_path: pathlib.Path, hostile_vault: str) -> None:
    top = tmp_path / "pod"
    out = top / "secrets"
    out.mkdir(parents=True)
    (top / "neighbour").write_text("a file beside the output directory")
    template = tmp_path / "app.tpl"
    template.write_text("{% for k, v in data.items() %}{{ k }}={{ v }}\n{% endfor %}")
    resources = [
        {"name": "tls", "type": "secret", "path": "good/tls", "format": "cert", "file": "tls"},
        {"name": "db", "type": "secret", "path": "good/db", "format": "json", "file": "db.json"},
        {"name": "spy", "type": "secret", "path": "evil/spy", "format": "txt", "file": "tls"},
        {"name": "values", "type": "secret", "path": "evil/values", "format": "env", "file": "values.env"},
    ]
    resources += [{"name": f"evil-{fmt}", "type": "secret", "path": "evil/keys", "format": fmt,
                   "file": f"evil-{fmt}", **({"template_file": str(template)} if fmt == "template" else {})}
                  for fmt in FORMATS]
    config = tmp_path / "sidekick.json"
    config.write_text(json.dumps({"vault": {"addr": hostile_vault}, "auth": {"method": "token"},
                                  "output_dir": str(out), "one_shot": True, "listen": "",
                                  "resources": resources}))
    args = [f"--config={config}"]
    before_outside = snapshot(tmp_path, skip=out)
    started = time.monotonic()
    proc = run_once(args, env=clean_env(VAULT_TOKEN="hostile-test-token"), timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr[-3000:]  # README: 1 when a resource failed
    assert "Traceback" not in proc.stderr and MARK not in proc.stderr, proc.stderr[-3000:]
    assert elapsed < 60, elapsed  # refused content is permanent: no retry loop

    # 1. nothing appeared (or changed) outside the output directory
    assert snapshot(tmp_path, skip=out) == before_outside
    assert not pathlib.Path("/tmp/absolute-evil").exists()

    # 2. the other resources' files hold what Vault sent for them, not what the hostile secrets said
    written = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith("..")}
    # `..` names: the version directories and data links of the groups that switch together (swap.py)
    hidden = {p.name for p in out.iterdir() if p.name.startswith("..")}
    groups = ("tls", "evil-cert", "evil-bundle", "evil-certchain")
    assert hidden and all(name.startswith(tuple(f"..{g}." for g in groups)) for name in hidden), hidden
    assert written["tls.crt"] == b"GOOD-CERT\n" and written["tls.key"] == b"GOOD-KEY\n"
    assert written["tls.ca"] == b"GOOD-CA\n" and json.loads(written["db.json"]) == GOOD_DB
    # refused (a key that is no file name / shell name / ini key, a value an aws file cannot hold, not
    # base64, another resource's file): none of their files exists; the rest hold the hostile data
    refused = {"evil-env", "evil-ini", "evil-csv", "evil-txt", "evil-aws", "evil-credential"}
    expected = {"tls.crt", "tls.key", "tls.ca", "db.json", "values.env", "evil-json", "evil-yaml",
                "evil-cert.crt", "evil-cert.key", "evil-cert.ca", "evil-template",
                "evil-bundle-bundle.pem", "evil-bundle.pem", "evil-bundle-ca.pem", "evil-bundle-key.pem",
                "evil-certchain-cert-chain.pem", "evil-certchain.pem", "evil-certchain-ca.pem",
                "evil-certchain-key.pem"}
    assert set(written) == expected, sorted(set(written) ^ expected)
    assert not any(name.startswith(tuple(refused)) for name in written)
    assert json.loads(written["evil-json"]) == SECRETS["evil/keys"]
    logs = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    failed = {r.get("resource") for r in logs if r.get("msg") == "resource refresh failed"}
    assert failed == {"evil-env", "evil-ini", "evil-csv", "evil-txt", "evil-aws", "evil-credential", "spy"}
    spy = [r for r in logs if r.get("msg") == "resource refresh failed" and r.get("resource") == "spy"]
    assert "belongs to resource 'tls'" in spy[0]["error"]

    # 3. sourcing the env file runs nothing and gives back the values
    probe = tmp_path / "probe"
    probe.mkdir()
    source = f"set -a; . {out / 'values.env'}; env -0"
    result = subprocess.run(["/usr/bin/env", "-i", "/bin/bash", "-c", source], cwd=probe,
                            capture_output=True, timeout=20, check=False)
    assert result.returncode == 0 and not (probe / CANARY).exists()
    env = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if item)
    assert env["API_KEY"] == SECRETS["evil/values"]["api_key"]
    assert env["OTHER"] == SECRETS["evil/values"]["other"]
    assert not list(tmp_path.rglob(CANARY)) and not (out / CANARY).exists()


@pytest.mark.parametrize("index", range(len(UNSAFE_NAMES)))
def test_each_hostile_key_alone_vault_sidekick_flags(tmp_path: pathlib.Path, hostile_vault: str,
                                                     index: int) -> None:
    """vault-sidekick's command line, one crafted key per secret, txt (a file per key) beside an env
    output of the same secret: exit 1, nothing written anywhere, and the neighbour untouched."""
    out = tmp_path / "secrets"
    out.mkdir()
    (out / "tls.crt").write_text("the real certificate")
    before = snapshot(tmp_path)
    cns = [f"-cn=secret:one/{index}:fmt=txt,file=app", f"-cn=secret:one/{index}:fmt=env,file=app.env"]
    proc = run_once([f"-vault={hostile_vault}", f"-output={out}", "-one-shot", *cns],
                    env=clean_env(VAULT_TOKEN="hostile-test-token"), timeout=60)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and MARK not in proc.stderr
    assert "cannot be a file name" in proc.stderr
    assert snapshot(tmp_path) == before  # not one file, in or out of the output directory


def test_an_answer_shaped_unlike_a_secret_fails_only_its_resource(tmp_path: pathlib.Path,
                                                                  hostile_vault: str) -> None:
    out = tmp_path / "secrets"
    proc = run_once([f"-vault={hostile_vault}", f"-output={out}", "-one-shot",
                     "-cn=secret:shape/text:fmt=json,file=text.json",
                     "-cn=secret:shape/list:fmt=env,file=l.env", "-cn=secret:good/db:fmt=json,file=db.json"],
                    env=clean_env(VAULT_TOKEN="hostile-test-token"), timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.count("Vault's answer is not a secret") >= 2
    assert sorted(p.name for p in out.iterdir()) == ["db.json"]
    assert json.loads((out / "db.json").read_text()) == GOOD_DB
