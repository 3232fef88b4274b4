"""The CrossGuard pack's rules as plain functions, and the pack's wiring (with a stand-in pulumi_policy)."""

from __future__ import annotations

import pathlib
import runpy
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from vaultconf.config import lint

from tests.stack._program import ROOT, run_stack

ADMIN = "# vaultconf-admin-reason: break-glass operators only, token kept offline\n"
HCL_BAD = (
    'path "sys/*" {\n  capabilities = ["update"]\n}\npath "kv/*" {\n  capabilities = ["read", "sudo"]\n}\n'
)


def test_policy_resource_lint() -> None:
    issues = lint.policy_resource_issues({"name": "ops", "policy": HCL_BAD})
    assert {i.rule for i in issues} == {"escalation", "sudo"}
    assert {i.family for i in issues if i.rule == "escalation"} == {
        "acl-policies",
        "secrets-engines",
        "root-operations",
    }
    # escalations are not ignorable by rule id; a break-glass allowance (written by the Policy component as
    # the HCL's first line) turns them into one allowance
    kept = lint.policy_resource_issues({"policy": HCL_BAD}, ignore=["sudo"])
    assert {i.rule for i in kept} == {"escalation"}
    allowed = lint.policy_resource_issues({"policy": ADMIN + HCL_BAD})
    assert [(i.rule, i.severity) for i in allowed] == [("admin-allowance", "allowance")]
    assert "break-glass operators only" in allowed[0].message
    assert lint.policy_resource_issues({"policy": 'path "kv/data/a/*" { capabilities = ["read"] }'}) == []
    assert [i.rule for i in lint.policy_resource_issues({"policy": 'path "x" {'})] == ["policy-syntax"]
    assert lint.policy_resource_issues({}) == []  # unknown during preview


@pytest.fixture(scope="module")
def dev_resources() -> list[tuple[str, dict[str, Any]]]:
    run = run_stack("dev")
    return [(r.type, r.inputs) for r in run.resources if r.custom]


def test_shipped_stack_has_no_access_violations(dev_resources: list[tuple[str, dict[str, Any]]]) -> None:
    assert lint.resource_access_violations(dev_resources) == []
    for typ, props in dev_resources:
        if typ == "vault:index/policy:Policy":
            assert lint.policy_resource_issues(props) == [], props["name"]


def test_access_violation_found_from_registered_resources(
    dev_resources: list[tuple[str, dict[str, Any]]],
) -> None:
    narrowed = []
    for typ, props in dev_resources:
        if typ == "vault:index/policy:Policy" and props["name"] == "billing-reader":
            props = {**props, "policy": 'path "apps/data/billing/*" {\n  capabilities = ["read"]\n}\n'}
        narrowed.append((typ, props))
    violations = lint.resource_access_violations(narrowed)
    assert len(violations) == 2, violations
    assert all("workload billing/billing-api" in v for v in violations)
    assert any("'tls' needs update on pki-int/issue/internal" in v for v in violations)
    assert any("'aws' needs read on aws/creds/app-s3" in v for v in violations)


def test_certificate_names_unbound_in_registered_policies(
    dev_resources: list[tuple[str, dict[str, Any]]],
) -> None:
    open_grant = 'path "pki-int/issue/internal" {\n  capabilities = ["update"]\n}\n'
    widened = []
    for typ, props in dev_resources:
        if typ == "vault:index/policy:Policy" and props["name"] == "billing-reader":
            text = props["policy"]
            start = text.index('path "pki-int/issue/internal"')
            end = text.index("\n}\n", start) + 3  # the end of that path block
            props = {**props, "policy": text[:start] + open_grant + text[end:]}
        widened.append((typ, props))
    violations = lint.resource_access_violations(widened)
    assert len(violations) == 1 and "workload billing/billing-api: secret 'tls'" in violations[0], violations
    assert "common_name, alt_names open" in violations[0]


class _FakePolicyModule(types.ModuleType):
    """Just enough of pulumi_policy to load the pack and call its validators."""

    def __init__(self) -> None:
        super().__init__("pulumi_policy")
        self.packs: list[Any] = []
        module = self

        class Simple:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.args, self.kwargs = args, kwargs
                for key, value in kwargs.items():
                    setattr(self, key, value)

        class PolicyPack(Simple):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                module.packs.append(self)

        self.PolicyPack = PolicyPack
        self.ResourceValidationPolicy = self.StackValidationPolicy = self.PolicyConfigSchema = Simple
        self.EnforcementLevel = types.SimpleNamespace(MANDATORY="mandatory", ADVISORY="advisory")
        self.ReportViolation = self.ResourceValidationArgs = self.StackValidationArgs = object


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake = _FakePolicyModule()
    monkeypatch.setitem(sys.modules, "pulumi_policy", fake)
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    sys.modules.pop("rules", None)
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    yield fake.packs[0]
    sys.modules.pop("rules", None)


def _stack(*resources: tuple[str, dict[str, Any]], config: dict[str, Any] | None = None) -> Any:
    items = [
        types.SimpleNamespace(resource_type=t, props=p, name=f"r{i}", urn=f"urn:r{i}")
        for i, (t, p) in enumerate(resources)
    ]
    return types.SimpleNamespace(resources=items, get_config=lambda: config or {})


POLICY = "vault:index/policy:Policy"


def test_pack_validators_report(pack: Any, dev_resources: list[tuple[str, dict[str, Any]]]) -> None:
    policies = {p.name: p for p in pack.policies}
    assert pack.enforcement_level == "mandatory"
    reported: list[tuple[str, Any]] = []

    def report(msg: str, urn: Any) -> None:
        reported.append((msg, urn))

    ops = (POLICY, {"name": "ops", "policy": HCL_BAD})
    policies["vault-policy-lint"].validate(_stack(ops), report)
    assert len(reported) == 4 and all("Vault policy 'ops'" in m and urn == "urn:r0" for m, urn in reported)
    assert sum("privilege escalation" in m for m, _ in reported) == 3
    reported.clear()
    policies["vault-policy-lint"].validate(_stack(ops, config={"ignore": {"ops": ["sudo"]}}), report)
    assert len(reported) == 3  # escalations stay
    reported.clear()
    policies["vault-policy-lint"].validate(
        _stack((POLICY, {"name": "ops", "policy": ADMIN + HCL_BAD})), report
    )
    assert reported == []
    wide = (POLICY, {"name": "ops", "policy": 'path "+/data/*" { capabilities = ["read"] }\n'})
    policies["vault-policy-wide-read"].validate(_stack(wide), report)
    assert len(reported) == 1 and "spans several teams' secrets" in reported[0][0]
    reported.clear()
    # the stack's mounts count, as the YAML's do in validate: a KV store's config is no engine's
    writer = (POLICY, {"name": "w", "policy": 'path "secret/*" { capabilities = ["update"] }\n'})
    policies["vault-policy-lint"].validate(_stack(writer), report)
    assert [m for m, _ in reported if "secrets-engine-config" in m]
    reported.clear()
    kv = ("vault:index/mount:Mount", {"path": "secret", "type": "kv", "options": {"version": "2"}})
    policies["vault-policy-lint"].validate(_stack(writer, kv), report)
    assert reported == []
    stack = types.SimpleNamespace(
        resources=[types.SimpleNamespace(resource_type=t, props=p) for t, p in dev_resources]
    )
    policies["workload-least-privilege"].validate(stack, lambda msg, urn: reported.append((msg, urn)))
    assert reported == []
    shipped = _stack(*dev_resources)
    for name in ("vault-policy-lint", "vault-policy-wide-read"):
        policies[name].validate(shipped, report)
    assert reported == []


def test_pack_rules_load_without_the_component_sdks(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the pack's own venv pulumi_vault & co are absent: rules.py must still load the lint module."""
    saved = {k: v for k, v in sys.modules.items() if k == "vaultconf" or k.startswith("vaultconf.")}
    for name in ("pulumi_vault", "pulumi_kubernetes", "pulumi_random", "yaml", "jsonschema"):
        monkeypatch.setitem(sys.modules, name, None)  # import of these now raises ImportError
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    sys.modules.pop("rules", None)
    try:
        import rules  # type: ignore[import-not-found]

        loaded = rules.load_lint()
        assert [i.rule for i in loaded.policy_resource_issues({"policy": HCL_BAD})] == [
            "escalation",
            "escalation",
            "escalation",
            "sudo",
        ]
    finally:
        sys.modules.pop("rules", None)
        for name in [k for k in sys.modules if k == "vaultconf" or k.startswith("vaultconf.")]:
            del sys.modules[name]
        sys.modules.update(saved)


PACK_PROGRAM = """
import pulumi
import pulumi_vault as vault

config = pulumi.Config()
provider = vault.Provider("vault", address=config.require("vaultAddress"))
opts = pulumi.ResourceOptions(provider=provider)
vault.Mount("kv", path="kvx", type="kv", options={"version": "2"}, opts=opts)
READ = 'path "kvx/data/team-a/*" {\\n  capabilities = ["read"]\\n}\\n'
vault.Policy("reader", name="reader", policy=READ, opts=opts)
# a KV store's own paths are no engine configuration: the pack knows kvx from the registered Mount
vault.Policy("writer", name="writer", policy='path "kvx/*" {\\n  capabilities = ["update"]\\n}\\n', opts=opts)
extra = config.get("extra")
if extra:
    vault.Policy("extra", name="extra", policy=extra, opts=opts)
"""


@pytest.mark.engines
def test_real_preview_blocks_escalation_and_lets_an_allowance_through(
    tmp_path: pathlib.Path, pulumi_workspace: Any, vault_dev: Any
) -> None:
    from tests.fixtures.engines import engine_path

    engine_path("pulumi-resource-vault")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: packcheck\nruntime: python\n", encoding="utf-8")
    (project / "__main__.py").write_text(PACK_PROGRAM, encoding="utf-8")
    ws = pulumi_workspace(project, env={"VAULT_TOKEN": vault_dev.token})
    ws.stack_init("dev")
    ws.config_set("vaultAddress", vault_dev.addr)

    def preview(extra: str | None) -> tuple[int, str]:
        if extra is None:
            ws.run("config", "rm", "extra", check=False)
        else:
            ws.config_set("extra", extra)
        result = ws.run("preview", "--policy-pack", str(ROOT / "policy"), check=False)
        return result.returncode, result.stdout + result.stderr

    code, out = preview(None)
    assert code == 0, out
    code, out = preview('path "auth/userpass/users/+/password" {\n  capabilities = ["update"]\n}\n')
    assert code != 0, out
    assert "Vault policy 'extra' on 'auth/userpass/users/+/password'" in out and "privilege escalation" in out
    assert "vault-policy-lint" in out, out
    code, out = preview(ADMIN + HCL_BAD)
    assert code == 0, out
