"""The conventions people bring to a CLI: --version, the Vault CLI's VAULT_* variables, colour only on a
terminal (NO_COLOR), `diff --exit-code`, JSON on every exit path, hints that say what to write, and line
numbers at the offending key."""

from __future__ import annotations

import json
import os
import pathlib
import pty
import re
import select
import ssl
import subprocess
import sys
import tomllib
from typing import Any

import pytest
from vaultconf.cli_support import UsageError, vault_target
from vaultconf.config.findings import Finding, Loc

from tests.stack._helpers import EXAMPLE, example_with, run_cli, write_tree

ROOT = pathlib.Path(__file__).resolve().parents[2]
VAULTCONF = [sys.executable, "-m", "vaultconf.cli"]
ESC = "\x1b["


def _version(pyproject: pathlib.Path) -> str:
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def _run(*argv: str, env: dict[str, str] | None = None,
         cwd: pathlib.Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "NO_COLOR"))}
    full.update(env or {})
    return subprocess.run([*VAULTCONF, *argv], cwd=cwd, env=full, capture_output=True, text=True, timeout=120,
                          check=False)


# --- --version ------------------------------------------------------------------------------------------


def test_vaultconf_version() -> None:
    result = _run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"vaultconf {_version(ROOT / 'components' / 'pyproject.toml')}"


@pytest.mark.parametrize("flag", ["-version", "--version"])
def test_sidekick_version(flag: str) -> None:
    result = subprocess.run([sys.executable, "-m", "sidekick", flag], capture_output=True, text=True,
                            timeout=60, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sidekick {_version(ROOT / 'sidekick_image' / 'pyproject.toml')}"


# --- VAULT_ADDR, VAULT_CACERT, VAULT_SKIP_VERIFY ----------------------------------------------------------


def test_vault_target_reads_the_vault_cli_environment() -> None:
    env = {"VAULT_ADDR": "https://vault.test:8200", "VAULT_CACERT": "/etc/ca.pem",
           "VAULT_SKIP_VERIFY": "true"}
    target = vault_target(None, None, None, env)
    assert (target.addr, target.ca_cert, target.skip_verify) == ("https://vault.test:8200", "/etc/ca.pem",
                                                                 True)
    # flags win over the environment
    flagged = vault_target("https://other:8200", "/x.pem", False, env)
    assert (flagged.addr, flagged.ca_cert, flagged.skip_verify) == ("https://other:8200", "/x.pem", False)
    off = vault_target(None, None, None, {"VAULT_ADDR": "http://v:1", "VAULT_SKIP_VERIFY": "0"})
    assert off.skip_verify is False
    with pytest.raises(UsageError) as err:
        vault_target(None, None, None, {})
    assert "export VAULT_ADDR" in err.value.fix
    with pytest.raises(UsageError) as err:
        vault_target(None, None, None, {"VAULT_ADDR": "http://v:1", "VAULT_SKIP_VERIFY": "maybe"})
    assert "VAULT_SKIP_VERIFY=true" in err.value.fix


@pytest.mark.parametrize("command", ["import", "unmanaged"])
def test_import_and_unmanaged_use_vault_addr(command: str, tmp_path: pathlib.Path) -> None:
    # nothing listens on port 9 of 127.0.0.1: the error names the address the command took from VAULT_ADDR
    env = {"VAULT_ADDR": "http://127.0.0.1:9", "VAULT_TOKEN": "t-not-a-real-token"}
    result = _run(command, *(["-o", str(tmp_path / "imp")] if command == "import" else ["--stack", "dev"]),
                  env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "http://127.0.0.1:9" in result.stderr and "cannot reach Vault" in result.stderr, result.stderr
    assert "t-not-a-real-token" not in result.stdout + result.stderr
    missing = _run(command, *(["-o", str(tmp_path / "imp")] if command == "import" else []),
                   env={"VAULT_TOKEN": "t"})
    assert missing.returncode == 2 and "export VAULT_ADDR" in missing.stderr, missing.stderr


def test_skip_verify_and_cacert_reach_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from vaultconf import cli

    monkeypatch.setenv("VAULT_ADDR", "https://vault.test:8200")
    monkeypatch.setenv("VAULT_TOKEN", "t")
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "1")
    args = argparse.Namespace(vault_addr=None, ca_cert=None, tls_skip_verify=None)
    client = cli._client(args)
    assert client.addr == "https://vault.test:8200"
    assert client._context.verify_mode == ssl.CERT_NONE
    monkeypatch.delenv("VAULT_SKIP_VERIFY")
    monkeypatch.setenv("VAULT_CACERT", str(ROOT / "no-such-ca.pem"))
    with pytest.raises(OSError):  # the file named by VAULT_CACERT is the one loaded
        cli._client(args)


# --- colour ---------------------------------------------------------------------------------------------


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """stdout of `vaultconf ARGV` when stdout is a pseudo-terminal."""
    leader, follower = pty.openpty()
    full = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full.update(env)
    proc = subprocess.Popen([*VAULTCONF, *argv], cwd=ROOT, env=full, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_only_and_never_with_no_color() -> None:
    coloured = _on_a_terminal(["diff", "dev", "prod"], {})
    assert ESC + "31m- users[dev-alice]" in coloured  # removed objects red
    assert ESC + "33m~ " in coloured  # changed yellow
    assert ESC not in _on_a_terminal(["diff", "dev", "prod"], {"NO_COLOR": "1"})
    piped = _run("diff", "dev", "prod")
    assert ESC not in piped.stdout and "- users[dev-alice]" in piped.stdout
    assert ESC + "1m" in _run("validate", "--stack", "dev", "--color", "always").stdout
    assert ESC not in _on_a_terminal(["validate", "--stack", "dev", "--color", "never"], {})


# --- diff --exit-code -----------------------------------------------------------------------------------


def test_diff_exit_code_like_git() -> None:
    assert run_cli("diff", "--exit-code", "dev", "prod")[0] == 1
    assert run_cli("diff", "--exit-code", "dev", "dev")[0] == 0
    assert run_cli("diff", "dev", "prod")[0] == 0  # without the flag a difference is not a failure


# --- --format json on every exit path -------------------------------------------------------------------


def _json(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    result = _run(*argv, env=env)
    try:
        doc = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"not JSON (exit {result.returncode}): {result.stdout!r} {result.stderr!r}")
    return result.returncode, doc, result.stderr


def test_json_for_bad_arguments() -> None:
    for argv in (["validate", "--format", "json", "--bogus"], ["validate", "--format=json", "--stack"],
                 ["diff", "dev", "--format", "json"], ["unmanaged", "--format", "json", "--purge"]):
        code, doc, stderr = _json(argv, env={"VAULT_ADDR": "http://127.0.0.1:9", "VAULT_TOKEN": "t"})
        assert code == 2 and doc["ok"] is False and doc["exit_code"] == 2, (argv, doc)
        assert doc["error"]["message"] and doc["error"]["fix"], (argv, doc)
        assert stderr == "", (argv, stderr)


def test_json_for_unusable_input(tmp_path: pathlib.Path) -> None:
    code, doc, _ = _json(["validate", "--format", "json", "--stack", "nope"])
    assert code == 2 and doc["error"]["message"] == "no overlay for stack 'nope'"
    assert "dev, prod, staging" in doc["error"]["fix"]
    config = write_tree(tmp_path / "c", {"base/a.yaml": "users: []\n", "dev/x.yaml": "users: []\n"})
    (config / "base" / "latin1.yaml").write_bytes(b"users:\n  - name: caf\xe9\n")
    code, doc, _ = _json(["validate", "--format", "json", "--config-dir", str(config), "--stack", "dev"])
    assert code == 2
    assert doc["error"]["message"].startswith("not UTF-8 text"), doc
    assert "UnicodeDecodeError" not in json.dumps(doc)
    assert doc["error"]["line"] == 2 and doc["error"]["file"].endswith("latin1.yaml")
    assert "UTF-8" in doc["error"]["fix"]


def test_json_when_a_diffed_stack_does_not_validate(tmp_path: pathlib.Path) -> None:
    config = example_with(tmp_path, "users:\n  - name: dev-alice\n    policies: [no-such-policy]\n")
    code, doc, _ = _json(["diff", "--config-dir", str(config), "--format", "json", "dev", "prod"])
    assert code == 2 and doc["findings"], doc
    assert any("no-such-policy" in f["message"] for f in doc["findings"]), doc


def test_text_errors_are_one_line_with_a_fix() -> None:
    result = _run("validate", "--stack", "nope")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "(fix: create " in result.stderr


# --- hints say what to write; lines point at the key -----------------------------------------------------

REGEX_MARKS = re.compile(r"\^|\$$|\\[sdw]|\[\^|\{0,|\]\*|\)\?")


def _schema_descriptions() -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("description"), str):
                found.add(node["description"].strip())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((ROOT / "components/vaultconf/schema/vaultconf.schema.json").read_text(encoding="utf-8")))
    return found


BAD = """\
users:
  - name: Bad_User
    policies: [x]
    token_ttl: forever
    rotation: -1
    namespaces: [Not-A-Label!]
  - policies: [x]
policies:
  - name: x
    rules:
      kv/data/ok: [read]
      kv/da*ta/x: [read]
      kv/data/y: [read, fly]
workloads:
  - name: w
    namespace: ns
    image: 1
    identity: {}
    secrets:
      - {name: s, type: bogus, path: kv/x, mode: "999", file: /abs}
kv:
  - name: apps
    max_versions: lots
pki:
  cas:
    - {name: r, mount: "pki root", type: root}
"""


def _findings(tmp_path: pathlib.Path, text: str) -> list[dict[str, Any]]:
    config = write_tree(tmp_path / "c", {"base/a.yaml": text, "dev/x.yaml": "{}\n"})
    code, out = run_cli("validate", "--config-dir", str(config), "--stack", "dev", "--format", "json")
    assert code == 1, out
    return [f for s in json.loads(out)["stacks"] for f in s["findings"]]


def test_every_hint_says_what_to_write(tmp_path: pathlib.Path) -> None:
    findings = _findings(tmp_path, BAD)
    assert len(findings) >= 10
    descriptions = _schema_descriptions()
    for f in findings:
        fix = f["fix"]
        assert fix, f
        assert not REGEX_MARKS.search(fix), f"a regex is not a fix: {f}"
        assert fix.strip() not in descriptions and not any(d in fix for d in descriptions if len(d) > 25), (
            f"a field description is not a fix: {f}")
    by_field = {f["field"]: f for f in findings}
    assert by_field["users[1]"]["fix"] == "add `name: billing-api`"
    assert by_field["workloads[w].image"]["fix"] == 'write a string, e.g. "..."'
    assert by_field["kv[apps].max_versions"]["fix"].startswith("write an integer, e.g. ")


def test_every_schema_pattern_has_a_hint() -> None:
    from vaultconf.config.schema import PATTERN_HINTS

    text = (ROOT / "components/vaultconf/schema/vaultconf.schema.json").read_text(encoding="utf-8")
    patterns: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(text))
    assert patterns and not patterns - set(PATTERN_HINTS), sorted(patterns - set(PATTERN_HINTS))


def test_lines_point_at_the_offending_key(tmp_path: pathlib.Path) -> None:
    findings = {f["field"]: f for f in _findings(tmp_path, BAD)}
    # the rule Vault rejects (line 12), not its parent `rules:` (line 10)
    bad_rule = next(f for k, f in findings.items() if k.startswith("policies[x].rules"))
    assert bad_rule["line"] in (12, 13), bad_rule
    assert findings["users[Bad_User].token_ttl"]["line"] == 4
    assert findings["workloads[w].image"]["line"] == 17
    # past the schema, the policy rules Vault would reject: at the rule's own line, with acl's fix
    policy = "policies:\n  - name: x\n    rules:\n      kv/data/ok: [read]\n      kv/da*ta/x: [read]\n"
    glob = _findings(tmp_path / "g", policy)
    rule = next(f for f in glob if f["field"].startswith("policies[x].rules"))
    assert rule["line"] == 5 and "'+'" in rule["fix"], rule


def test_finding_json_carries_the_fix() -> None:
    f = Finding("settings", Loc("Pulumi.dev.yaml", 0), "vaultconf:x", "missing",
                "pulumi config set vaultconf:x 1")
    assert f.as_dict()["fix"] == "pulumi config set vaultconf:x 1"
    assert EXAMPLE.is_dir()


@pytest.mark.engines
def test_import_reaches_vault_addr_with_no_flag(vault_dev: Any, tmp_path: pathlib.Path) -> None:
    """The check a Vault user makes first: VAULT_ADDR and VAULT_TOKEN exported, no --vault-addr."""
    rules = 'path "kv/data/x" { capabilities = ["read"] }'
    vault_dev.request("PUT", "sys/policy/from-env", {"policy": rules})
    env = {"VAULT_ADDR": vault_dev.addr, "VAULT_TOKEN": vault_dev.token}
    result = _run("import", "-o", str(tmp_path / "imported"), env=env)
    assert result.returncode == 0, result.stderr
    assert "from-env" in (tmp_path / "imported" / "imported.yaml").read_text(encoding="utf-8")
    assert vault_dev.token not in result.stdout + result.stderr
    unmanaged = _run("unmanaged", "--stack", "dev", "--format", "json", env=env)
    assert unmanaged.returncode == 1, unmanaged.stderr  # the policy made above is not in the YAML
    items = json.loads(unmanaged.stdout)["unmanaged"]
    assert any(i.get("name") == "from-env" for i in items), unmanaged.stdout


@pytest.mark.parametrize(("text", "fix"), [
    ("users:\n\t- name: a\n", "indent with spaces, not tabs"),
    ("users: [a, b\n", "separate the items with ', ' and close the bracket"),
    ('users: "a\n', "close the quote or bracket opened above"),
    ("a: *nowhere\n", "define the anchor (`&name`) before using `*name`"),
])
def test_yaml_syntax_errors_say_what_to_write(tmp_path: pathlib.Path, text: str, fix: str) -> None:
    config = write_tree(tmp_path / "c", {"base/a.yaml": text, "dev/x.yaml": "{}\n"})
    code, doc, _ = _json(["validate", "--config-dir", str(config), "--stack", "dev", "--format", "json"])
    assert code == 2 and doc["error"]["fix"] == fix, doc
    assert doc["error"]["line"] >= 1
