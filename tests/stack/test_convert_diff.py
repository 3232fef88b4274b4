"""`vaultconf convert` (2015 layout) round trip and `vaultconf diff` between stacks."""

from __future__ import annotations

import json
import pathlib

import pytest
from vaultconf import acl
from vaultconf.config import validate
from vaultconf.config.policytext import LEGACY_POLICY

from tests.stack._helpers import EXAMPLE, run_cli, write_tree

OLD = {
    "policies/dev_myproject/reader.yaml": '---\npath:\n  secret/*:\n    policy: "read"\n',
    "policies/uat_myproject/writer.json": '{"path": {"secret/*": {"policy": "write"}, '
    '"secret/x": {"policy": "deny"}}}',
    "policies/ops.json": '{"path": {"sys/mounts": {"capabilities": ["read", "list"]}}}',
    "users.yaml": "---\n  dev_myproject:\n    - name: MrWrite\n      policies: [reader, ops]\n"
    "  uat_myproject:\n    - name: MrWrite\n      policies: [writer]\n    - name: MrRead\n",
    "secrets/dev_myproject/aws_backend/mini-role.yaml": "write_path: dev_aws/roles/mini-role\nvalues:\n"
    "- policy:\n    Version: '2012-10-17'\n    Statement: {Effect: Allow, Action: 'iam:x', Resource: '*'}\n",
    "secrets/dev_myproject/ca_backend/example.yaml": "write_path: pki/roles/example-dot-com\nvalues:\n"
    "- allowed_base_domain: example.com\n- allow_subdomains: true\n- max_ttl: 72h\n",
    "secrets/dev_myproject/app/db.yaml": "write_path: secret/dev/db\nvalues:\n- password: hunter2-old-value\n"
    "- username: app\n",
}


def test_convert_round_trip(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old"
    write_tree(old, OLD)
    target = tmp_path / "new" / "base" / "converted.yaml"
    code, _ = run_cli("convert", str(old), "-o", str(target))
    err = capsys.readouterr().err
    assert code == 0
    text = target.read_text()
    assert "hunter2-old-value" not in text and "hunter2-old-value" not in err  # values never copied
    assert "pulumi config set --secret kv-secret-dev-db-password" in err

    result = validate(tmp_path / "new", None)
    assert result.errors == [], [str(f) for f in result.errors]
    cfg = result.config
    assert cfg is not None
    assert {p.name for p in cfg.policies} == {"dev-myproject-reader", "uat-myproject-writer", "ops"}
    users = {u.name: u for u in cfg.users}
    assert users["mrwrite"].namespaces == ["dev-myproject", "uat-myproject"]
    assert users["mrwrite"].policies == ["dev-myproject-reader", "ops", "uat-myproject-writer"]
    assert users["mrread"].policies == []
    assert [(r.name, r.ca, r.allowed_domains) for r in cfg.pki_roles] == [
        ("example-dot-com", "pki", ["example.com"])
    ]
    assert (
        [r.name for r in cfg.aws_roles] == ["mini-role"]
        and cfg.aws_engine
        and cfg.aws_engine.mount == "dev_aws"
    )
    assert [(s.name, s.keys) for s in cfg.kv[0].secrets] == [("dev/db", ["password", "username"])]

    # the converted rules grant exactly what the old `policy =` keywords meant, by Vault's evaluation
    writer = next(p for p in cfg.policies if p.name == "uat-myproject-writer").acl_rules()
    for path, keyword in (("secret/a/b", "write"), ("secret/x", "deny")):
        assert acl.capabilities([writer], path) == frozenset(LEGACY_POLICY[keyword])
    reader = next(p for p in cfg.policies if p.name == "dev-myproject-reader").acl_rules()
    assert acl.capabilities([reader], "secret/a") == frozenset({"read", "list"})


def test_convert_rejects_what_it_cannot_read(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(tmp_path / "old", {"policies/ns/bad.yaml": "path:\n  secret/*:\n    policy: everything\n"})
    code, _ = run_cli("convert", str(tmp_path / "old"))
    err = capsys.readouterr().err
    assert code == 2 and "bad.yaml" in err and "unknown policy 'everything'" in err
    code, _ = run_cli("convert", str(tmp_path / "empty-nothing"))
    assert code == 2


def test_diff_between_stacks_names_objects_and_fields() -> None:
    code, out = run_cli("diff", "--config-dir", str(EXAMPLE), "dev", "prod")
    assert code == 0
    assert "- users[dev-alice]" in out
    assert "- kubernetes_auth.roles[billing-api]" in out
    assert "~ workloads[billing-api]" in out and "replicas: 1 -> 3" in out
    code, out = run_cli("diff", "--config-dir", str(EXAMPLE), "prod", "dev", "--format", "json")
    doc = json.loads(out)
    added = {c["object"] for c in doc["changes"] if c["kind"] == "added"}
    assert {"users[dev-alice]", "kubernetes_auth.roles[billing-api]"} <= added
    code, out = run_cli("diff", "--config-dir", str(EXAMPLE), "staging", "staging")
    assert "0 object(s) differ" in out


def test_diff_json_leaves_out_the_unset_side() -> None:
    # dev's overlay sets settings.dev_overlay, prod's does not: the JSON change has "to" and no "from"
    code, out = run_cli("diff", "--config-dir", str(EXAMPLE), "prod", "dev", "--format", "json")
    assert code == 0
    fields = [f for c in json.loads(out)["changes"] for f in c["fields"] if f["field"] == "dev_overlay"]
    assert fields == [{"field": "dev_overlay", "to": True}]


def test_diff_never_shows_secret_values(tmp_path: pathlib.Path) -> None:
    # seeded values live in Pulumi config, so only key names can differ
    code, out = run_cli("diff", "--config-dir", str(EXAMPLE), "dev", "staging")
    assert code == 0 and "secret-value" not in out and "password:" not in out
