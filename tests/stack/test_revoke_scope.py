"""The revoke advice names the grant scoped to the secret's own leases, never a blanket sys/leases/revoke."""

from __future__ import annotations

import pathlib

from tests.stack._helpers import example_with, run_cli

OVERLAY = "dev/zz-test.yaml"
REVOKING = ("workloads:\n  - name: billing-api\n    secrets:\n      - name: aws\n        revoke: true\n")
SCOPE = "sys/leases/revoke/aws/creds/app-s3/*"


def _grant(path: str) -> str:
    return f"policies:\n  - name: billing-reader\n    rules:\n      {path}: [update]\n"


def test_the_advice_is_the_secrets_own_lease_prefix(tmp_path: pathlib.Path) -> None:
    code, out = run_cli("validate", "--config-dir", str(example_with(tmp_path, REVOKING)), "--stack", "dev")
    assert code == 0, out
    (warning,) = [ln for ln in out.splitlines() if "revoke: true" in ln]
    assert f"{OVERLAY}:5" in warning and f"fix: grant {SCOPE}: [update]" in warning, warning
    assert "grant sys/leases/revoke:" not in warning and "sys/leases/revoke/*" not in warning, warning


def test_the_scoped_grant_satisfies_it_and_counts_as_used(tmp_path: pathlib.Path) -> None:
    root = example_with(tmp_path, REVOKING + _grant(SCOPE))
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev", "--strict")
    assert code == 0, out  # neither a revoke-permission nor an unused-grant warning


def test_a_grant_for_another_secrets_leases_does_not(tmp_path: pathlib.Path) -> None:
    root = example_with(tmp_path, REVOKING + _grant("sys/leases/revoke/aws/creds/other-role/*"))
    code, out = run_cli("validate", "--config-dir", str(root), "--stack", "dev")
    assert code == 0, out
    assert any("revoke: true" in ln and SCOPE in ln for ln in out.splitlines()), out
    assert any("unused" in ln or "no workload" in ln for ln in out.splitlines()), out
