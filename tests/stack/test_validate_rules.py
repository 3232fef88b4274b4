"""Every validate rule: a failing case (exit 1 or 2, message naming file and line) and a passing case."""

from __future__ import annotations

import json
import pathlib

import pytest

from tests.stack._helpers import EXAMPLE, example_with, run_cli

OVERLAY = "dev/zz-test.yaml"


def check(tmp_path: pathlib.Path, overlay: str) -> tuple[int, str]:
    root = example_with(tmp_path, overlay)
    return run_cli("validate", "--config-dir", str(root), "--stack", "dev")


def test_shipped_config_is_clean_for_every_stack() -> None:
    for stack in ("dev", "staging", "prod"):
        code, out = run_cli("validate", "--config-dir", str(EXAMPLE), "--stack", stack)
        assert code == 0, out
        assert "0 error(s), 0 warning(s)" in out


# (id, breaking overlay, line of the finding in the overlay, expected text, fixed overlay)
CASES = [
    (
        "schema-unknown-field",
        "users:\n  - name: billing-api\n    tokn_ttl: 1h\n",
        3,
        "unknown field 'tokn_ttl'",
        "users:\n  - name: billing-api\n    token_ttl: 1h\n",
    ),
    (
        "schema-type",
        "workloads:\n  - name: billing-api\n    replicas: two\n",
        3,
        "expected integer, got string",
        "workloads:\n  - name: billing-api\n    replicas: 2\n",
    ),
    (
        "schema-required",
        "users:\n  - name: carol\n    namespaces: [billing]\n",
        2,
        "missing required field 'policies'",
        "users:\n  - name: carol\n    namespaces: [billing]\n    policies: [billing-reader]\n",
    ),
    (
        "schema-pattern",
        "users:\n  - name: carol\n    policies: [billing-reader]\n    namespaces: [Billing_NS]\n",
        4,
        "'Billing_NS' has the wrong form",
        "users:\n  - name: carol\n    policies: [billing-reader]\n    namespaces: [billing-ns]\n",
    ),
    (
        "schema-lowercase-vault-names",
        "users:\n  - name: Carol\n    policies: [billing-reader]\n",
        2,
        "'Carol' has the wrong form",
        "users:\n  - name: carol\n    policies: [billing-reader]\n",
    ),
    (
        "schema-enum",
        "workloads:\n  - name: billing-api\n    kind: StatefulSet\n",
        3,
        "'StatefulSet' is not allowed",
        "workloads:\n  - name: billing-api\n    kind: Deployment\n",
    ),
    (
        "schema-ttl",
        "users:\n  - name: billing-api\n    token_ttl: 1 hour\n",
        3,
        "has the wrong form",
        "users:\n  - name: billing-api\n    token_ttl: 1h\n",
    ),
    (
        "reference-user-policy",
        "users:\n  - name: billing-api\n    policies: [billing-reader, billing-raeder]\n",
        3,
        "policy 'billing-raeder' is not declared",
        "users:\n  - name: billing-api\n    policies: [billing-reader, default]\n",
    ),
    (
        "reference-workload-user",
        "workloads:\n  - name: billing-api\n    identity: {user: nobody}\n",
        3,
        "user 'nobody' is not declared",
        "workloads:\n  - name: billing-api\n    identity: {user: billing-api}\n",
    ),
    (
        "reference-workload-namespace",
        "workloads:\n  - name: billing-api\n    identity: {user: reports-export}\n",
        3,
        "no credentials Secret in namespace 'billing'",
        "users:\n  - name: reports-export\n    namespaces: [reports, billing]\n"
        "policies:\n  - name: reports-reader\n    rules:\n      apps/data/billing/*: [read]\n"
        "      apps/data/reports/*: [read]\n"
        # one identity for both workloads: its certificate binding lists both names
        "      pki-int/issue/internal:\n        capabilities: [update]\n"
        "        allowed_parameters:\n"
        "          common_name:\n"
        "            - billing-api.billing.internal.example\n"
        "            - reports-export.reports.internal.example\n"
        "      aws/creds/app-s3: [read]\n"
        "workloads:\n  - name: billing-api\n    identity: {user: reports-export}\n",
    ),
    (
        "reference-kubernetes-role",
        "workloads:\n  - name: reports-export\n    identity: {kubernetes_role: billing-api}\n",
        3,
        "does not bind service account reports/reports-export",
        "workloads:\n  - name: billing-api\n    identity: {kubernetes_role: billing-api}\n",
    ),
    (
        "reference-approle",
        "workloads:\n  - name: billing-api\n    identity: {approle: ci}\n",
        3,
        "approle 'ci' is not declared",
        "approle:\n  roles:\n    - name: ci\n      policies: [billing-reader]\n      namespaces: [billing]\n"
        "workloads:\n  - name: billing-api\n    identity: {approle: ci}\n",
    ),
    (
        "reference-pki-ca",
        "pki:\n  roles:\n    - name: web\n      ca: intermediate\n      allowed_domains: [web.example]\n",
        4,
        "CA 'intermediate' is not declared",
        "pki:\n  roles:\n    - name: web\n      ca: internal-ca\n      allowed_domains: [web.example]\n",
    ),
    (
        "reference-ca-issuer",
        "pki:\n  cas:\n    - name: internal-ca\n      issuer: rot-ca\n",
        4,
        "issuer CA 'rot-ca' is not declared",
        "pki:\n  cas:\n    - name: internal-ca\n      issuer: root-ca\n",
    ),
    (
        "reference-aws-engine",
        "aws:\n  engine: null\n",
        0,
        "AWS roles need the AWS engine",
        "aws:\n  engine: {region: eu-west-1}\n",
    ),
    (
        "reference-pki-role-in-path",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: tls\n"
        "        path: pki-int/issue/internl\n",
        5,
        "PKI role 'internl' is not declared",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: tls\n"
        "        path: pki-int/issue/internal\n",
    ),
    (
        "kv-v2-path",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: db\n        path: apps/billing/db\n",
        5,
        "'apps' is a KV v2 store: reads go through apps/data/",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: db\n"
        "        path: apps/data/billing/db\n",
    ),
    (
        "ttl-above-max",
        "users:\n  - name: billing-api\n    token_ttl: 48h\n",
        0,
        "exceeds max_ttl",
        "users:\n  - name: billing-api\n    token_ttl: 1h\n",
    ),
    (
        "lint-sudo",
        "policies:\n  - name: billing-reader\n    rules:\n      sys/leases/revoke-force/*: [update, sudo]\n",
        4,
        "grants sudo",
        # revoke-force is an escalation family now (not ignorable); lint_ignore still acknowledges plain sudo
        "policies:\n  - name: billing-reader\n    lint_ignore: [sudo]\n    rules:\n"
        "      sys/leases/lookup/*: [list, sudo]\n",
    ),
    (
        "lint-sys-wildcard",
        "policies:\n  - name: ops\n    rules:\n      sys/*: [read, update]\n",
        4,
        "wildcard grants update on sys/*",
        "policies:\n  - name: ops\n    rules:\n      sys/*: [read]\n",
    ),
    (
        "lint-acl-wildcard",
        "policies:\n  - name: ops\n    rules:\n      sys/policies/acl/*: [create, update]\n",
        4,
        "sys/policies/acl/*",
        # an exact policy path is as dangerous as the glob (issue 11): reading one is not
        "policies:\n  - name: ops\n    rules:\n      sys/policies/acl/team-a: [read]\n",
    ),
    (
        "lint-auth-wildcard",
        "policies:\n  - name: ops\n    rules:\n      auth/*: [update]\n",
        4,
        "on auth/*",
        "policies:\n  - name: ops\n    rules:\n      auth/token/lookup-self: [read]\n",
    ),
    (
        "lint-auth-users-wildcard",
        "policies:\n  - name: ops\n    rules:\n      auth/+/users/*: [create, update]\n",
        4,
        "wildcard grants create, update on auth/+/users/*",
        "policies:\n  - name: ops\n    rules:\n      auth/+/users/*: [read, list]\n",
    ),
    (
        "lint-root-wildcard",
        "policies:\n  - name: ops\n    rules:\n      '*': [read, list]\n",
        4,
        "root-level wildcard",
        "policies:\n  - name: ops\n    rules:\n      '*': [deny]\n",
    ),
    (
        "least-privilege",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: smtp\n        type: kv\n"
        "        path: apps/data/reports/smtp\n",
        6,
        "lacks 'read' on apps/data/reports/smtp",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: extra\n        type: kv\n"
        "        path: apps/data/billing/extra\n",
    ),
    (
        "least-privilege-pki-needs-update",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal: [read]\n",
        0,
        "lacks 'update' on pki-int/issue/internal",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal:\n"
        "        capabilities: [update]\n"
        "        allowed_parameters: {common_name: [billing-api.billing.internal.example]}\n",
    ),
    (
        "least-privilege-certificate-names-open",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal: [update]\n",
        0,
        "leaves common_name, alt_names open: the identity can obtain certificates for any name",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal:\n"
        "        capabilities: [update]\n"
        "        allowed_parameters: {common_name: [billing-api.billing.internal.example]}\n",
    ),
    (
        "least-privilege-certificate-glob",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal:\n"
        "        capabilities: [update]\n        allowed_parameters: {common_name: ['*.internal.example']}\n",
        0,
        "leaves common_name open",
        "policies:\n  - name: billing-reader\n    rules:\n      pki-int/issue/internal:\n"
        "        capabilities: [update]\n"
        "        allowed_parameters: {common_name: [billing-api.billing.internal.example]}\n",
    ),
    (
        "least-privilege-deny-wins",
        "policies:\n  - name: no-db\n    rules:\n      apps/data/billing/db: [deny]\n"
        "users:\n  - name: billing-api\n    policies: [billing-reader, no-db]\n",
        0,
        "lacks 'read' on apps/data/billing/db",
        "policies:\n  - name: no-db\n    rules:\n      apps/data/billing/other: [deny]\n"
        "users:\n  - name: billing-api\n    policies: [billing-reader, no-db]\n",
    ),
    (
        "policy-hcl-checked",
        "policies:\n  - name: billing-reader\n    rules: null\n    hcl: |\n"
        '      path "apps/data/billing/*" { capabilities = ["read"] }\n',
        0,
        "lacks 'update' on pki-int/issue/internal",
        "policies:\n  - name: billing-reader\n    rules: null\n    hcl: |\n"
        '      path "apps/data/billing/*" { capabilities = ["read"] }\n'
        '      path "pki-int/issue/internal" {\n'
        '        capabilities = ["update"]\n'
        '        allowed_parameters = { common_name = ["billing-api.billing.internal.example"] }\n'
        "      }\n"
        '      path "aws/creds/app-s3" { capabilities = ["read"] }\n',
    ),
    (
        "duplicate-secret-name",
        "workloads:\n  - name: billing-api\n    secrets:\n      - name: db\n        type: kv\n"
        "        path: apps/data/billing/db\n",
        0,
        "",  # merged by name: not a duplicate; the real duplicate case is in test_merge
        "workloads:\n  - name: billing-api\n    replicas: 1\n",
    ),
]


@pytest.mark.parametrize(("case", "bad", "line", "expected", "good"), CASES, ids=[c[0] for c in CASES])
def test_rule_fails_then_passes(
    tmp_path: pathlib.Path, case: str, bad: str, line: int, expected: str, good: str
) -> None:
    if expected:
        code, out = check(tmp_path / "bad", bad)
        assert code == 1, out
        hits = [ln for ln in out.splitlines() if expected in ln]
        assert hits, out
        # file and line: the overlay line when the finding is about a value set there, else a config file
        if line:
            assert hits[0].split(": ", 1)[0].endswith(f"{OVERLAY}:{line}"), hits[0]
        else:
            assert ".yaml:" in hits[0].split(": ", 1)[0], hits[0]
        assert "(fix: " in hits[0]
        assert "Traceback" not in out
    code, out = check(tmp_path / "good", good)
    assert code == 0, out


def test_unused_grants_are_warnings_and_strict_makes_them_findings(tmp_path: pathlib.Path) -> None:
    overlay = "policies:\n  - name: billing-reader\n    rules:\n      apps/data/billing/*: [read, update]\n"
    root = example_with(tmp_path, overlay)
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev")
    assert code == 0, out
    warning = next(ln for ln in out.splitlines() if "warning:" in ln)
    assert f"{OVERLAY}:4" in warning and "grants update on apps/data/billing/*" in warning
    code, _ = run_cli("validate", "--config-dir", str(root), "--stack", "dev", "--strict")
    assert code == 1


def test_revoke_without_the_revoke_grant_is_a_warning(tmp_path: pathlib.Path) -> None:
    revoking = "workloads:\n  - name: billing-api\n    secrets:\n      - name: db\n        revoke: true\n"
    root = example_with(tmp_path / "missing", revoking)
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev")
    assert code == 0, out
    warning = next(ln for ln in out.splitlines() if "warning:" in ln)
    assert f"{OVERLAY}:5" in warning and "may not update sys/leases/revoke" in warning, warning
    assert run_cli("validate", "--config-dir", str(root), "--stack", "dev", "--strict")[0] == 1
    grant = "policies:\n  - name: billing-reader\n    rules:\n      sys/leases/revoke: [update]\n"
    granted = revoking + grant
    root = example_with(tmp_path / "granted", granted)
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev", "--strict")
    assert code == 0, out  # and the grant counts as used: no unused-grant warning either


def test_json_output(tmp_path: pathlib.Path) -> None:
    root = example_with(tmp_path, "users:\n  - name: billing-api\n    policies: [nope]\n")
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["errors"] >= 1
    finding = doc["stacks"][0]["findings"][0]
    assert finding["file"].endswith(OVERLAY) and finding["line"] == 3 and finding["rule"] == "reference"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users: [unclosed\n", "invalid YAML"),
        ("users:\n  - name: a\n  - name: a\n    name: b\n", "invalid YAML"),  # duplicate key
        ("- just\n- a list\n", "top level must be a mapping"),
        ("a: !!binary notbase64!!\n", "invalid YAML"),
    ],
)
def test_unusable_yaml_exits_2_with_one_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    root = example_with(tmp_path, text)
    code, _ = run_cli("validate", "--config-dir", str(root), "--stack", "dev")
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and OVERLAY in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unknown_stack_and_missing_dir_exit_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_cli("validate", "--config-dir", str(EXAMPLE), "--stack", "qa")
    err = capsys.readouterr().err
    assert code == 2 and "no overlay for stack 'qa'" in err and "dev, prod, staging" in err
    code, _ = run_cli("validate", "--config-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "no base/ directory" in capsys.readouterr().err
