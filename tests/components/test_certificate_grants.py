"""Least privilege for certificates beyond a workload's own `issue/<role>` request (issue 11 item 3):

* `sign/<role>` on a declared PKI mount takes the names from the caller's CSR, which `allowed_parameters`
  cannot bind: an error for every policy (validate, the pack and the `Policy` component);
* an identity no workload uses, holding `<pki>/issue/<role>` with the names unbound, can obtain certificates
  for every workload's names: an error too (a workload's own grant is checked against its request).

`vaultconf validate --format json` runs on the shipped config plus one overlay."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import vaultconf as vc
from vaultconf import policy_analysis
from vaultconf.errors import ConfigError
from vaultconf.testing import run_under_mocks

from tests.stack._helpers import example_with, run_cli


def _validate(tmp_path: pathlib.Path, overlay: str) -> tuple[int, list[dict[str, Any]]]:
    code, out = run_cli("validate", "--config-dir", str(example_with(tmp_path, overlay)), "--stack", "dev",
                        "--format", "json")
    return code, [f for stack in json.loads(out)["stacks"] for f in stack["findings"]]


def _about(findings: list[dict[str, Any]], policy: str) -> list[dict[str, Any]]:
    return [f for f in findings if f.get("policy") == policy]


def test_sign_on_a_pki_mount_is_an_error_for_an_idle_user(tmp_path: pathlib.Path) -> None:
    overlay = """
        policies:
          - name: signer
            rules:
              pki-int/sign/internal: [update]
        users:
          - name: signer
            policies: [signer]
        """
    code, findings = _validate(tmp_path, overlay)
    assert code == 1
    [finding] = _about(findings, "signer")
    assert finding["severity"] == "error" and finding["family"] == "certificates"
    assert "other workloads' names included" in finding["message"]
    assert "issue/<role>" in finding["fix"] and "allowed_parameters" in finding["fix"]


def test_sign_added_to_a_workloads_policy_is_an_error(tmp_path: pathlib.Path) -> None:
    """Before, only an unused-grant warning, and validate exited 0."""
    overlay = """
        policies:
          - name: billing-signer
            rules:
              pki-int/sign/internal: [update]
        users:
          - name: billing-api
            policies: [billing-reader, billing-signer]
        """
    code, findings = _validate(tmp_path, overlay)
    assert code == 1
    errors = [f for f in _about(findings, "billing-signer") if f["severity"] == "error"]
    assert [f["family"] for f in errors] == ["certificates"], findings


@pytest.mark.parametrize("path", ["pki-int/issue/+", "pki-int/issue/internal", "pki-int/*"])
def test_unbound_issue_is_an_error_for_an_idle_identity(tmp_path: pathlib.Path, path: str) -> None:
    overlay = f"""
        policies:
          - name: issuer
            rules:
              {path}: [update]
        users:
          - name: issuer
            policies: [issuer]
        """
    code, findings = _validate(tmp_path, overlay)
    assert code == 1
    certs = [f for f in _about(findings, "issuer") if f["rule"] == "least-privilege-certificate"]
    assert len(certs) == 1, findings
    assert certs[0]["severity"] == "error" and "user 'issuer' (no workload)" in certs[0]["message"]
    assert "common_name, alt_names open" in certs[0]["message"]


def test_bound_issue_and_other_engines_sign_are_clean(tmp_path: pathlib.Path) -> None:
    overlay = """
        policies:
          - name: bound
            rules:
              pki-int/issue/internal:
                capabilities: [update]
                allowed_parameters:
                  common_name: [ops.internal.example]
              transit/sign/app-key: [update]
              pki-int/sign/internal: [read]
        users:
          - name: bound
            policies: [bound]
        """
    code, findings = _validate(tmp_path, overlay)
    assert _about(findings, "bound") == [] and code == 0, findings


def test_the_shipped_config_stays_clean() -> None:
    code, out = run_cli("validate", "--format", "json")
    assert code == 0, out
    assert [f for s in json.loads(out)["stacks"] for f in s["findings"]] == []


def test_policy_component_refuses_sign_on_a_declared_pki_mount() -> None:
    rules = {"pki-int/sign/internal": ["update"]}
    with pytest.raises(ConfigError) as caught:
        run_under_mocks(lambda: vc.Policy("p", {"rules": rules, "mounts": {"pki-int": "pki"}}))
    mounts = policy_analysis.Mounts.of([("pki-int", "pki")])
    assert caught.value.problem == policy_analysis.analyze(rules, mounts=mounts)[0].message
    assert "certificates for any name the role allows" in caught.value.problem
    # transit's sign/<key> is that engine's ordinary use
    run_under_mocks(lambda: vc.Policy("t", {"rules": {"transit/sign/k": ["update"]},
                                           "mounts": {"pki-int": "pki"}}))
