"""The Policy component runs the policy analysis at construction, with validate's message (under mocks)."""

from __future__ import annotations

import pathlib

import pytest
import vaultconf as vc
from vaultconf.config import lint
from vaultconf.errors import ConfigError
from vaultconf.testing import run_under_mocks

from tests.stack._helpers import example_with, run_cli


def test_dangerous_rules_fail_at_construction() -> None:
    with pytest.raises(ConfigError) as caught:
        run_under_mocks(lambda: vc.Policy("p", {"rules": {"sys/*": ["sudo", "update"]}}))
    err = caught.value
    assert err.component == "Policy 'p'" and err.field == "rules['sys/*']"
    assert "privilege escalation" in err.problem
    # the same message as the CrossGuard pack and validate print
    assert err.problem == lint.lint_policy({"sys/*": ["sudo", "update"]})[1].message


def test_same_message_as_validate(tmp_path: pathlib.Path) -> None:
    rules = {"auth/userpass/users/+/password": ["update"]}
    with pytest.raises(ConfigError) as caught:
        run_under_mocks(lambda: vc.Policy("reset", {"rules": rules}))
    overlay = "policies:\n  - name: reset\n    rules:\n      auth/userpass/users/+/password: [update]\n"
    code, out = run_cli("validate", "--config-dir", str(example_with(tmp_path, overlay)), "--stack", "dev")
    assert code == 1
    assert caught.value.problem in out and caught.value.fix in out


def test_raw_hcl_is_judged_too() -> None:
    hcl = 'path "auth/token/roles/deployer" {\n  capabilities = ["update"]\n}\n'
    with pytest.raises(ConfigError, match="token roles"):
        run_under_mocks(lambda: vc.Policy("p", {"hcl": hcl}))
    doubled = 'path "kv/a" {\n  capabilities = ["read"]\n  capabilities = ["update"]\n}\n'
    with pytest.raises(ConfigError, match="appears twice"):
        run_under_mocks(lambda: vc.Policy("p", {"hcl": doubled}))
    with pytest.raises(ConfigError, match="before the end"):
        run_under_mocks(lambda: vc.Policy("p", {"hcl": 'path "kv/*/a" { capabilities = ["read"] }'}))


def test_admin_allowance_registers_and_carries_its_reason() -> None:
    reason = "break-glass: operators only, token kept offline"
    run = run_under_mocks(
        lambda: vc.Policy("ops", {"rules": {"sys/*": ["sudo", "update"]}, "admin": {"reason": reason}})
    )
    text = run.one("vault:index/policy:Policy").inputs["policy"]
    assert text.splitlines()[0] == f"# vaultconf-admin-reason: {reason}"
    # the pack reads the allowance back from the HCL: no blocking finding
    issues = lint.policy_resource_issues({"name": "ops", "policy": text})
    assert [i.severity for i in issues] == ["allowance"]
    with pytest.raises(ConfigError, match="reason of at least"):
        run_under_mocks(lambda: vc.Policy("ops", {"rules": {"a": ["read"]}, "admin": {"reason": "x"}}))


def test_safe_policies_register() -> None:
    rules = {"apps/data/billing/*": ["read"], "pki-int/issue/internal": ["update"], "aws/creds/a": ["read"]}
    run = run_under_mocks(lambda: vc.Policy("reader", {"rules": rules}))
    assert "vaultconf-admin" not in run.one("vault:index/policy:Policy").inputs["policy"]


def test_pki_roles_refuse_wildcard_certificates_by_default() -> None:
    def program() -> None:
        ca = vc.CertificateAuthority("ca", {"common_name": "CA"})
        vc.PkiRole("web", {"ca": ca, "allowed_domains": ["internal.example"]})
        vc.PkiRole(
            "wild", {"ca": ca, "allowed_domains": ["internal.example"], "allow_wildcard_certificates": True}
        )

    run = run_under_mocks(program)
    roles = {r.inputs["name"]: r.inputs for r in run.resources if r.type.endswith("SecretBackendRole")}
    assert roles["web"]["allowWildcardCertificates"] is False
    assert roles["wild"]["allowWildcardCertificates"] is True


def test_analysis_warn_registers_for_the_pack_to_block() -> None:
    rules = {"sys/*": ["sudo", "update"]}
    run = run_under_mocks(lambda: vc.Policy("ops", {"rules": rules, "analysis": "warn"}))
    text = run.one("vault:index/policy:Policy").inputs["policy"]
    assert {i.rule for i in lint.policy_resource_issues({"policy": text})} == {"sudo", "escalation"}


def test_workload_check_warns_about_open_certificate_names(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi
    from vaultconf.sidecar import check_access

    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warned.append(msg))
    entry = {"name": "tls", "type": "pki", "path": "pki/issue/web", "params": {"common_name": "a.example"}}
    check_access([{"pki/issue/web": ["update"]}], [entry], "Workload 'a'", "the user identity")
    assert len(warned) == 1 and "common_name, alt_names open" in warned[0]
    warned.clear()
    bound = {
        "pki/issue/web": {"capabilities": ["update"], "allowed_parameters": {"common_name": ["a.example"]}}
    }
    check_access([bound], [entry], "Workload 'a'", "the user identity")
    assert warned == []


def test_declared_mounts_make_the_component_judge_as_validate() -> None:
    writer = {"secret/*": ["create", "update"]}  # a KV store's config or roles/x are secrets, not an engine's
    with pytest.raises(ConfigError, match="configuring a secrets engine"):
        run_under_mocks(lambda: vc.Policy("w", {"rules": writer}))
    run_under_mocks(lambda: vc.Policy("w", {"rules": writer, "mounts": {"secret": "kv-v2"}}))


def test_hostile_admin_reason_and_mounts() -> None:
    issues = lint.lint_policy({"sys/*": ["update"]}, admin="ok\x1b[31m red\nnew line reason text")
    assert "\x1b" not in issues[0].message and "\n" not in issues[0].message
    assert "ok[31m red new line reason text" in issues[0].message
    with pytest.raises(ConfigError, match="mapping of mount path"):
        run_under_mocks(lambda: vc.Policy("p", {"rules": {"a": ["read"]}, "mounts": ["apps"]}))  # type: ignore[typeddict-item]
