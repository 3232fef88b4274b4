"""The vault-sidekick command line: flags, -cn specs (including its README's examples), errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sidekick.cli import build_config, parse_cn, split_flags
from sidekick.config import Config
from sidekick.errors import SidekickConfigError

# The pod spec args from vault-sidekick's README ("Example Usage"), verbatim.
README_ARGS = [
    "-output=/etc/secrets",
    "-cn=pki:project1/certs/example.com:common_name=commons.example.com,revoke=true,update=2h",
    "-cn=secret:secret/db/prod/username:file=.credentials",
    "-cn=secret:secret/db/prod/password:retries=1",
    "-cn=secret:secret/data/db/dev/username:file=.kv2credentials",
    "-cn=aws:aws/creds/s3_backup_policy:file=.s3_creds",
]


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("VAULT_", "AUTH_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("VAULT_TOKEN", "dummy-token-value")


def config(argv: list[str]) -> Config:
    cfg = build_config(argv)
    assert isinstance(cfg, Config)
    return cfg


def test_readme_pod_spec_args_parse(token_env: None) -> None:
    cfg = config(["-vault=http://127.0.0.1:8200", *README_ARGS])
    assert cfg.output_dir == "/etc/secrets"
    by_name = {r.name: r for r in cfg.resources}
    assert list(by_name) == ["example.com.pki", ".credentials", "password.secret", ".kv2credentials",
                             ".s3_creds"]
    pki = by_name["example.com.pki"]
    assert (pki.type, pki.path, pki.params) == ("pki", "project1/certs/example.com",
                                                {"common_name": "commons.example.com"})
    assert pki.revoke is True and pki.update == 7200.0 and pki.format == "yaml"
    assert by_name["password.secret"].retries == 1
    assert by_name["password.secret"].file == "password.secret"  # vault-sidekick's NAME.TYPE default
    assert by_name[".kv2credentials"].path == "secret/data/db/dev/username"
    assert by_name[".s3_creds"].type == "aws"
    assert cfg.auth_method == "token" and cfg.renew_token is False and cfg.one_shot is False


def test_readme_renewal_examples(token_env: None) -> None:
    cfg = config(["-cn=mysql:mysql/creds/my_database:fmt=yaml,renew=true",
                  "-cn=aws:aws/creds/policy:fmt=yaml,renew=true,update=1h",
                  "-cn=aws:project/creds/my_s3_bucket:fmt=yaml,update=1h,revoke=true"])
    mysql, aws1, aws2 = cfg.resources
    assert mysql.type == "secret" and mysql.renew is True
    assert aws1.renew is True and aws1.update == 3600
    assert aws2.renew is False and aws2.revoke is True


def test_go_flag_styles(token_env: None) -> None:
    cfg = config(["--vault", "http://v:8200", "-output", "/tmp/x", "-one-shot", "-renew-token=false",
                  "-tls-skip-verify=true", "-dryrun", "-logtostderr=true", "-v=3", "-cn", "secret:a/b"])
    assert cfg.vault_addr == "http://v:8200" and cfg.output_dir == "/tmp/x"
    assert cfg.one_shot and not cfg.renew_token and cfg.tls_skip_verify and cfg.dryrun


def test_options_and_env_expansion(token_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "prod")
    monkeypatch.setenv("NS", "team")
    res = parse_cn("pki:pki/issue/${ENV}:common_name=a.%NS%.example,alt_names=b.example|c.example,"
                   "file=/abs/cert,fmt=bundle,mode=0640,delay=30s,jitter=1m,exec=/bin/reload --now,ttl=24h")
    assert res.path == "pki/issue/prod"
    assert res.params == {"common_name": "a.team.example", "alt_names": "b.example,c.example", "ttl": "24h"}
    assert res.file == "/abs/cert" and res.format == "bundle" and res.mode == 0o640
    assert res.revoke_delay == 30 and res.max_jitter == 60
    assert res.hooks.exec == ["/bin/reload", "--now"]


def test_relative_file_is_kept_in_the_output_dir() -> None:
    assert parse_cn("secret:a/b:file=sub/dir/creds").file == "creds"


@pytest.mark.parametrize(("spec", "message"), [
    ("secret:", "neither TYPE nor PATH"),
    ("secret", "must be TYPE:PATH"),
    ("secret::file=x", "neither TYPE nor PATH"),
    ("secret:test:file=filename.test,fmt=", "must have a value"),
    ("file=filename.test,fmt=yaml", "must be TYPE:PATH"),
    ("bogus:a/b", "unsupported resource type 'bogus'"),
    ("secret:a/b:novalue", "must be KEY=VALUE"),
    ("secret:a/b:mode=999", "not an octal file mode"),
    ("secret:a/b:update=soon", "not a duration"),
    ("secret:a/b:renew=maybe", "not a boolean"),
    ("secret:a/b:retries=x", "expected an integer"),
])
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(SidekickConfigError, match=message):
        parse_cn(spec)


def test_unknown_format_and_flag(token_env: None) -> None:
    with pytest.raises(SidekickConfigError, match="unknown format 'xml'"):
        build_config(["-cn=secret:a/b:fmt=xml"])
    with pytest.raises(SidekickConfigError, match="flag provided but not defined: -bogus"):
        split_flags(["-bogus=1"])
    with pytest.raises(SidekickConfigError, match="flag needs an argument: -vault"):
        split_flags(["-vault"])
    with pytest.raises(SidekickConfigError, match="not a URL"):
        build_config(["-vault=ftp://x", "-cn=secret:a"])


def test_auth_file_picks_method_and_must_be_readable(token_env: None, tmp_path: os.PathLike[str]) -> None:
    login = os.path.join(tmp_path, "login")
    with open(login, "w") as fh:
        json.dump({"username": "app", "password": "pw-123456", "method": "userpass"}, fh)
    cfg = config([f"-auth={login}", "-cn=secret:a"])
    assert cfg.auth_method == "userpass" and cfg.auth_file == login
    with pytest.raises(SidekickConfigError, match="cannot read the authentication file"):
        build_config([f"-auth={login}.missing", "-cn=secret:a"])
    with open(login, "w") as fh:
        fh.write("[1, 2")
    with pytest.raises(SidekickConfigError, match="not valid"):
        build_config([f"-auth={login}", "-cn=secret:a"])


def test_duplicate_names_get_suffixes(token_env: None) -> None:
    cfg = config(["-cn=secret:a/x:fmt=json", "-cn=secret:b/x:fmt=json,file=other"])
    assert [r.name for r in cfg.resources] == ["x.secret", "other"]
    with pytest.raises(SidekickConfigError, match="both write"):
        build_config(["-cn=secret:a/x", "-cn=secret:b/x"])


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return subprocess.run([sys.executable, "-m", "sidekick", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_help_and_exit_code_2_with_one_line() -> None:
    out = run_cli("--help")
    assert out.returncode == 0 and "-cn TYPE:PATH" in out.stdout and "Exit codes" in out.stdout
    bad = run_cli("-cn=secret:a:fmt=nope")
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown format 'nope'" in lines[0], bad.stderr
    assert "Traceback" not in bad.stderr
