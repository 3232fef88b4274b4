"""`external: true` (docs/scaling.md, splitting the organisation): an object another stack owns is declared
with only what paths and grants need, validated like a declared one, registered by nobody here, and checked
against the platform stack's `vaultconf` output. The real engine runs the split in
tests/e2e/test_split_stack.py."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import pulumi
import pytest
from vaultconf.config import external, settings, validate
from vaultconf.testing import RecordingMocks, default_outputs

from tests.stack._helpers import run_cli, write_tree
from tests.stack._program import run_stack, stack_config

PLATFORM = "organization/vaultconf/platform"

TEAM = """
settings:
  create_userpass_mount: false
pki:
  cas:
    - {name: int, mount: pki-int, external: true}
  roles:
    - {name: web, ca: int, external: true}
aws:
  engine: {mount: aws-shared, external: true}
  roles:
    - {name: deploy, external: true}
kv:
  - {name: apps, external: true}
policies:
  - name: web-app
    rules:
      apps/data/web/*: [read]
      aws-shared/creds/deploy: [read]
      pki-int/issue/web:
        capabilities: [update]
        allowed_parameters: {common_name: [web.team.example]}
users:
  - {name: web-app, policies: [web-app], namespaces: [team]}
workloads:
  - name: web
    namespace: team
    kind: Deployment
    image: registry.example/web:1
    identity: {user: web-app}
    secrets:
      - {name: db, type: kv, path: apps/data/web/db}
      - {name: tls, type: pki, path: pki-int/issue/web, params: {common_name: web.team.example}, format: cert}
      - {name: aws, type: aws, path: aws-shared/creds/deploy}
"""

PLATFORM_EXPORT = {
    "version": 1,
    "cas": {"int": {"mount": "pki-int"}, "root": {"mount": "pki-root"}},
    "pki_roles": {"web": {"ca": "int"}},
    "aws_engine": {"mount": "aws-shared"},
    "aws_roles": {"deploy": {}},
    "kv": {"apps": {}},
}


def _tree(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    return write_tree(tmp_path / "config", {"base/team.yaml": text, "dev/overlay.yaml": "{}\n"})


def _config(tmp_path: pathlib.Path, text: str = TEAM) -> Any:
    result = validate(_tree(tmp_path, text), "dev")
    assert result.config is not None and not result.errors, [str(e) for e in result.errors]
    return result.config


def test_a_team_tree_naming_platform_objects_validates_with_grants_checked(tmp_path: pathlib.Path) -> None:
    cfg = _config(tmp_path)
    assert [c.external for c in cfg.cas] == [True] and cfg.cas[0].mount == "pki-int"
    assert cfg.aws_engine is not None and cfg.aws_engine.external
    # least privilege still holds against the external objects: drop the certificate grant
    broken = TEAM.replace("      pki-int/issue/web:\n        capabilities: [update]\n"
                          "        allowed_parameters: {common_name: [web.team.example]}\n", "")
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path / "b", broken)), "--stack", "dev")
    assert code == 1 and "lacks 'update' on pki-int/issue/web" in out
    # and a pki path naming a role not declared on the external CA is a reference error
    wrong = TEAM.replace("path: pki-int/issue/web,", "path: pki-int/issue/api,")
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path / "c", wrong)), "--stack", "dev")
    assert code == 1 and "PKI role 'api' is not declared on CA 'int'" in out


def test_an_external_object_carries_only_its_name_and_paths(tmp_path: pathlib.Path) -> None:
    text = TEAM.replace("{name: int, mount: pki-int, external: true}",
                        "{name: int, mount: pki-int, external: true, common_name: Int}")
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path, text)), "--stack", "dev")
    assert code == 1
    assert "team.yaml:5: pki.cas[int]: 'common_name' is not set on an `external: true` object" in out
    assert "(fix: remove it; an external object takes only: name, mount, external)" in out
    # an owned CA still needs what creating it needs
    owned = TEAM.replace("{name: int, mount: pki-int, external: true}", "{name: int, mount: pki-int}")
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path / "o", owned)), "--stack", "dev")
    assert "pki.cas[int]: missing required field 'type'" in out


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("{name: web, ca: int, external: true}", "{name: web, ca: int, allowed_domains: [team.example]}",
         "pki.roles[web].ca: PKI role 'web' lives on CA 'int', which is external"),
        ("{name: deploy, external: true}", "{name: deploy, credential_type: iam_user, policy_arns: [a]}",
         "aws.roles[deploy].name: AWS role 'deploy' lives on the AWS engine ('aws-shared'), which is "
         "external"),
    ],
)
def test_a_role_is_owned_by_the_stack_that_owns_its_ca_or_engine(
    tmp_path: pathlib.Path, before: str, after: str, expected: str
) -> None:
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path, TEAM.replace(before, after))),
                        "--stack", "dev")
    assert code == 1 and expected in out and "(fix: mark it `external: true` too" in out


def test_exports_hold_what_the_stack_owns_and_the_check_names_what_is_missing(tmp_path: pathlib.Path) -> None:
    cfg = _config(tmp_path)
    assert external.exports(cfg) == {"version": 1, "cas": {}, "pki_roles": {}, "aws_engine": None,
                                     "aws_roles": {}, "kv": {}, "kubernetes_auth": None, "approle": None}
    assert external.check(cfg, PLATFORM_EXPORT, PLATFORM) == []
    partial: dict[str, Any] = {**PLATFORM_EXPORT, "cas": {"int": {"mount": "pki-int2"}}, "kv": {}}
    found = [str(f) for f in external.check(cfg, partial, PLATFORM)]
    assert found == [
        f"{tmp_path}/config/base/team.yaml:5: pki.cas[int].mount: CA 'int': mount 'pki-int' here, but stack "
        f"'{PLATFORM}' exports mount 'pki-int2' (fix: write `mount: pki-int2`)",
        f"{tmp_path}/config/base/team.yaml:13: kv[apps].external: KV store 'apps' is `external: true`, but "
        f"stack '{PLATFORM}' does not export it (it exports: none) (fix: declare it (without `external`) "
        "under kv in the platform stack's tree and run its `up` first, or correct the name)",
    ]
    (never_up,) = external.check(cfg, None, PLATFORM)
    assert "has no `vaultconf` output" in never_up.message and f"pulumi up --stack {PLATFORM}" in never_up.fix


def test_a_hostile_platform_output_reaches_the_message_bounded_and_printable(tmp_path: pathlib.Path) -> None:
    # the platform's output is another stack's data: a huge export or a value with control characters
    # must not flood or forge the team's error output
    cfg = _config(tmp_path)
    forged = "pki-int\nerror: everything is fine" + "x" * 10_000
    hostile: dict[str, Any] = {**PLATFORM_EXPORT, "cas": {"int": {"mount": forged}},
                               "kv": {f"store-{i}": {} for i in range(5_000)}}
    found = [str(f) for f in external.check(cfg, hostile, PLATFORM)]
    assert len(found) == 2
    assert all("\n" not in line and len(line) < 1_000 for line in found)
    assert "and 4980 more" in found[1]
    assert "characters)" in found[0]


def test_an_external_engine_needs_no_aws_root_keys(tmp_path: pathlib.Path) -> None:
    assert not any(s.key.startswith("aws") for s in settings.secrets_for(_config(tmp_path)))


def _mocked_platform(exported: Mapping[str, Any] | None) -> RecordingMocks:
    def outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        if typ == "pulumi:pulumi:StackReference":
            return {"outputs": {} if exported is None else {"vaultconf": dict(exported)},
                    "secretOutputNames": []}
        return default_outputs(typ, name, inputs)

    return RecordingMocks(outputs)


def test_the_team_stack_registers_its_own_objects_and_none_of_the_platforms(tmp_path: pathlib.Path) -> None:
    config = stack_config("dev", configDir=str(_tree(tmp_path, TEAM)), platformStack=PLATFORM)
    run = run_stack("dev", config, _mocked_platform(PLATFORM_EXPORT))
    types = {r.type for r in run.resources}
    assert {"vaultconf:index:User", "vaultconf:index:Policy", "vaultconf:index:Workload"} <= types
    platform_owned = {"vaultconf:index:CertificateAuthority", "vaultconf:index:PkiRole",
                      "vaultconf:index:KvStore", "vaultconf:index:AwsSecretsEngine",
                      "vaultconf:index:AwsRole", "vault:index/authBackend:AuthBackend"}
    assert not types & platform_owned


def test_the_team_stack_stops_when_the_platform_does_not_export_an_object(tmp_path: pathlib.Path) -> None:
    """What the gate runs on the platform's output. The program-level failure (preview and up) is tested on
    the real engine, tests/e2e/test_split_stack.py: run here under the mocks, in one process with other mock
    runs, it left CPython 3.11.7 failing a later import ("AST constructor recursion depth mismatch")."""
    from vaultconf.stackbuild import platform

    cfg = _config(tmp_path)
    assert platform.judge(cfg, PLATFORM_EXPORT, PLATFORM) == PLATFORM
    with pytest.raises(pulumi.RunError, match=r"1 `external: true` object\(s\) not exported as declared"):
        platform.judge(cfg, {**PLATFORM_EXPORT, "pki_roles": {}}, PLATFORM)


AUTH = """
kubernetes_auth:
  mount: k8s-shared
  external: true
  roles:
    - {name: web-pods, service_accounts: [web], namespaces: [team], policies: [web-app]}
approle:
  mount: approle-shared
  external: true
  roles:
    - {name: batch, policies: [web-app], namespaces: [team]}
"""


def test_a_team_registers_its_auth_roles_on_the_platforms_mounts(tmp_path: pathlib.Path) -> None:
    tree = _tree(tmp_path, TEAM + AUTH)
    cfg = _config(tmp_path / "v", TEAM + AUTH)
    shared = {**PLATFORM_EXPORT, "kubernetes_auth": {"mount": "k8s-shared"},
              "approle": {"mount": "approle-shared"}}
    assert external.check(cfg, shared, PLATFORM) == []
    run = run_stack("dev", stack_config("dev", configDir=str(tree), platformStack=PLATFORM),
                    _mocked_platform(shared))
    assert not run.of_type("vault:index/authBackend:AuthBackend")
    assert not run.of_type("vault:kubernetes/authBackendConfig:AuthBackendConfig")
    (k8s_role,) = run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    assert k8s_role.inputs["backend"] == "k8s-shared" and k8s_role.inputs["roleName"] == "web-pods"
    (app_role,) = run.of_type("vault:appRole/authBackendRole:AuthBackendRole")
    assert app_role.inputs["backend"] == "approle-shared"
    assert run.one("vault:appRole/authBackendRoleSecretId:AuthBackendRoleSecretId").inputs["backend"] == \
        "approle-shared"
    found = [str(f) for f in external.check(cfg, {**shared, "kubernetes_auth": None}, PLATFORM)]
    assert len(found) == 1 and "kubernetes_auth.external: the kubernetes auth mount is `external: true`, " \
        f"but stack '{PLATFORM}' does not export it (it creates none)" in found[0]


def test_an_external_auth_mount_takes_no_mount_settings(tmp_path: pathlib.Path) -> None:
    text = TEAM + AUTH.replace("  mount: k8s-shared\n", "  mount: k8s-shared\n  kubernetes_host: https://k\n")
    code, out = run_cli("validate", "--config-dir", str(_tree(tmp_path, text)), "--stack", "dev")
    assert code == 1 and "kubernetes_auth: 'kubernetes_host' is not set on an `external: true` object" in out


def test_the_components_refuse_mount_settings_without_the_mount() -> None:
    from vaultconf.approle import AppRole
    from vaultconf.errors import ConfigError
    from vaultconf.kubernetes_auth import KubernetesAuth
    from vaultconf.testing import run_under_mocks

    with pytest.raises(ConfigError, match="configures the mount, which another stack owns"):
        run_under_mocks(lambda: KubernetesAuth("k", {"create_mount": False, "kubernetes_host": "https://k",
                                                     "roles": {}}))
    with pytest.raises(ConfigError, match="describes the mount, which another stack owns"):
        run_under_mocks(lambda: AppRole("a", {"create_mount": False, "description": "x", "roles": {}}))
