"""The sidekick config file (docs/architecture.md contract): parsing, defaults, one-line errors."""

from __future__ import annotations

import json
import pathlib

import pytest
from sidekick.cli import build_config
from sidekick.config import Config
from sidekick.config_file import load_file
from sidekick.errors import SidekickConfigError

CONTRACT = """\
vault:
  addr: https://vault.example:8200
  tls_skip_verify: false
auth:
  method: userpass
  mount: userpass
  file: {login}
output_dir: {out}
one_shot: false
renew_token: true
listen: "127.0.0.1:9191"
resources:
  - name: app-db
    type: kv
    path: kv/data/team-a/db
    kv_version: 2
    version: 3
    file: db.json
    format: json
    mode: "0600"
    owner: 1000
    group: 2000
    update: 5m
    renew: true
    revoke: false
    jitter: 0.1
    retries: 0
    on_change:
      exec: ["/bin/app", "reload"]
      signal: {{name: HUP, pidfile: /run/app.pid}}
      http: {{url: "http://127.0.0.1:8080/-/reload", method: POST}}
  - name: tls
    type: pki
    path: pki/issue/web
    params: {{common_name: a.example}}
  - name: combined
    type: kv
    path: kv/data/team-a/api
    format: template
    template: "{{{{ secrets['app-db'].password }}}}"
"""


@pytest.fixture
def login(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "login"
    path.write_text(json.dumps({"username": "app", "password": "pw-abcdef", "method": "userpass"}))
    return path


def write(tmp_path: pathlib.Path, text: str, name: str = "sidekick.yaml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_contract_example_loads(tmp_path: pathlib.Path, login: pathlib.Path) -> None:
    path = write(tmp_path, CONTRACT.format(login=login, out=tmp_path / "out"))
    cfg = build_config([f"--config={path}"])
    assert isinstance(cfg, Config)
    assert cfg.vault_addr == "https://vault.example:8200" and cfg.auth_method == "userpass"
    assert cfg.listen == "127.0.0.1:9191" and cfg.renew_token
    db, tls, combined = cfg.resources
    assert (db.type, db.path, db.kv_version, db.params) == ("kv", "kv/data/team-a/db", 2, {"version": 3})
    assert db.file_mode == 0o600 and (db.owner, db.group) == (1000, 2000) and db.update == 300
    assert db.hooks.exec == ["/bin/app", "reload"] and db.hooks.signal_name == "HUP"
    assert db.hooks.signal_pidfile == "/run/app.pid" and db.hooks.http_method == "POST"
    assert tls.format == "cert" and tls.file_mode == 0o600 and tls.filename == "tls"
    assert combined.format == "template" and "secrets['app-db']" in combined.template


def test_json_file_and_cli_overrides(tmp_path: pathlib.Path, login: pathlib.Path) -> None:
    path = write(tmp_path, json.dumps({
        "vault": {"addr": "http://127.0.0.1:8200"}, "auth": {"method": "userpass", "file": str(login)},
        "output_dir": str(tmp_path), "resources": [{"name": "a", "type": "kv", "path": "kv/a", "group": 5}],
    }), "c.json")
    cfg = build_config([f"-config={path}", "-one-shot", "-cn=secret:kv/b:fmt=env"])
    assert isinstance(cfg, Config)
    assert cfg.one_shot and [r.name for r in cfg.resources] == ["a", "b.secret"]
    assert cfg.resources[0].file_mode == 0o640  # a group widens the default to 0640


@pytest.mark.parametrize(("snippet", "message"), [
    ("resources:\n  - name: a\n    type: kv\n    path: kv/a\n    formt: json\n",
     r"c.yaml:6: unknown field 'resources\[0\].formt'; did you mean 'format'\?"),
    ("resources:\n  - name: a\n    type: kv\n    path: kv/a\n    format: xml\n", "unknown format 'xml'"),
    ("resources:\n  - name: a\n    type: nope\n    path: x\n", "unknown type 'nope'"),
    ("resources:\n  - name: a\n    type: kv\n    path: kv/a\n    mode: 0666\n", "world-writable"),
    ("resources:\n  - name: a\n    type: kv\n    path: kv/a\n    update: often\n",
     r"c.yaml:6: .*not a duration"),
    ("resources:\n  - name: a\n    type: pki\n    path: pki/issue/x\n", "needs the common_name"),
    ("resources:\n  - type: kv\n    path: kv/a\n", r"resources\[0\].name is required"),
    ("vault: {addr: 'not a url'}\nresources: [{name: a, type: kv, path: kv/a}]\n", "is not a URL"),
    ("resources: [{name: a, type: kv, path: kv/a, file: ../../etc/passwd}]\n", "inside the output"),
    ("resources: [{name: a, type: kv, path: kv/a}, {name: a, type: kv, path: kv/b}]\n", "used twice"),
    ("resources: [{name: a, type: kv, path: kv/a, on_change: {signal: {name: HUP}}}]\n",
     "needs a pidfile or a process"),
    ("resources:\n  - name: a\n   type: kv\n", r"c.yaml:\d+: the sidekick config is not valid"),
    ("listen: nowhere\nresources: [{name: a, type: kv, path: kv/a}]\n", "must be HOST:PORT"),
])
def test_bad_files_give_one_line(tmp_path: pathlib.Path, snippet: str, message: str) -> None:
    path = write(tmp_path, "auth: {method: token}\n" + snippet, "c.yaml")
    with pytest.raises(SidekickConfigError, match=message) as info:
        build_config([f"--config={path}"])
    assert "\n" not in str(info.value)


def test_missing_config_and_credentials(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SidekickConfigError, match="cannot read the sidekick config"):
        load_file(str(tmp_path / "absent.yaml"))
    path = write(tmp_path, f"auth: {{method: userpass, file: {tmp_path}/nope}}\n"
                           "resources: [{name: a, type: kv, path: kv/a}]\n")
    with pytest.raises(SidekickConfigError, match="cannot read the authentication file"):
        build_config([f"--config={path}"])
