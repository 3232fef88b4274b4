"""Every Kubernetes object is valid against the OpenAPI schema; bad input is one clear error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pulumi
import pytest
import vaultconf as vc
from vaultconf.testing import run_under_mocks

from tests.components._programs import SIDEKICK, VAULT_ADDR, full_stack, reader_rules

K8S_VERSION = "1.33"  # oldest schema kubernetes-validate ships that has native sidecars GA


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"kind": "Job"},
        {"native_sidecar": False},
        {"env": {"A": "1"}, "command": ["/app"], "run_as_user": 65532},
    ],
    ids=["deployment", "job", "legacy-sidecar", "env-command"],
)
def test_every_kubernetes_object_matches_the_openapi_schema(variant: dict[str, Any]) -> None:
    run = run_under_mocks(lambda: full_stack(**variant))
    objects = [r for r in run.resources if r.type.startswith("kubernetes:") and r.custom]
    assert {r.inputs["kind"] for r in objects} >= {"Secret", "ConfigMap"}
    for rec in objects:
        kubernetes_validate.validate(rec.inputs, K8S_VERSION, strict=True)


def test_the_validator_rejects_a_broken_object() -> None:
    run = run_under_mocks(lambda: full_stack())
    deployment = dict(run.one("kubernetes:apps/v1:Deployment").inputs)
    deployment["spec"] = {**deployment["spec"], "replicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def workload(**overrides: Any) -> Callable[[], Any]:
    def program() -> None:
        reader = vc.Policy("reader", {"rules": reader_rules()})
        user = vc.User("app", {"policies": [reader], "namespaces": ["team-a"], "vault_addr": VAULT_ADDR})
        args: dict[str, Any] = {
            "namespace": "team-a",
            "image": "app:1",
            "auth": user,
            "sidekick_image": SIDEKICK,
            "vault_addr": VAULT_ADDR,
            "secrets": [{"name": "db", "type": "kv", "path": "kv/data/team-a/db"}],
        }
        args.update(overrides)
        vc.Workload("web", args)

    return program


def ca() -> vc.CertificateAuthority:
    return vc.CertificateAuthority("ca", {"common_name": "CA"})


BAD: list[tuple[str, Callable[[], Any], str, str]] = [
    (
        "unknown capability",
        lambda: vc.Policy("p", {"rules": {"kv/a": ["raed"]}}),
        "Policy 'p'",
        "unknown capability 'raed'",
    ),
    ("empty policy", lambda: vc.Policy("p", {"rules": {}}), "Policy 'p'", "the policy is empty"),
    ("empty raw policy", lambda: vc.Policy("p", {"hcl": "  "}), "Policy 'p'", "the policy is empty"),
    (
        "rules and hcl",
        lambda: vc.Policy("p", {"rules": {"a": ["read"]}, "hcl": "x"}),
        "Policy 'p'",
        "exactly one",
    ),
    (
        "pki role on a non-CA",
        lambda: vc.PkiRole("r", {"ca": vc.KvStore("kv", {}), "allowed_domains": ["a"]}),
        "PkiRole 'r'",
        "is not a CertificateAuthority",
    ),
    (
        "pki role on a name",
        lambda: vc.PkiRole("r", {"ca": "pki", "allowed_domains": ["a"]}),
        "PkiRole 'r'",
        "is not a CertificateAuthority",
    ),
    ("negative ttl", lambda: vc.User("u", {"token_ttl": -5}), "User 'u'", "'token_ttl': -5 is negative"),
    (
        "unparsable ttl",
        lambda: vc.PkiRole("r", {"ca": ca(), "allowed_domains": ["a"], "ttl": "soon"}),
        "PkiRole 'r'",
        "'ttl': 'soon' is not a duration",
    ),
    (
        "ttl above max",
        lambda: vc.PkiRole("r", {"ca": ca(), "allowed_domains": ["a"], "ttl": "2h", "max_ttl": "1h"}),
        "PkiRole 'r'",
        "exceeds max_ttl",
    ),
    (
        "namespace not DNS-1123",
        lambda: vc.User("u", {"namespaces": ["Team_A"], "vault_addr": VAULT_ADDR}),
        "User 'u'",
        "'namespaces': 'Team_A' is not a DNS-1123 label",
    ),
    (
        "workload namespace",
        workload(namespace="team.a"),
        "Workload 'web'",
        "'namespace': 'team.a' is not a DNS-1123",
    ),
    (
        "unreadable secret",
        workload(secrets=[{"name": "x", "type": "kv", "path": "kv/data/team-b/db"}]),
        "Workload 'web'",
        "cannot read 'kv/data/team-b/db'",
    ),
    (
        "pki issue needs update",
        workload(secrets=[{"name": "x", "type": "pki", "path": "aws/creds/app",
                           "params": {"common_name": "a.example"}}]),
        "Workload 'web'",
        "cannot update 'aws/creds/app'",
    ),
    ("secret not in namespace", workload(namespace="team-b"), "Workload 'web'", "cannot be used in 'team-b'"),
    ("short password", lambda: vc.User("u", {"password_length": 16}), "User 'u'", "too short"),
    ("typo in args", lambda: vc.User("u", {"namespace": ["a"]}), "User 'u'", "'namespace': unknown argument"),
    (
        "bad credential type",
        lambda: vc.AwsRole(
            "r",
            {
                "engine": vc.AwsSecretsEngine("e", {"access_key": "a", "secret_key": "b"}),
                "credential_type": "root",
            },
        ),
        "AwsRole 'r'",
        "unknown credential type",
    ),
    (
        "aws engine without keys",
        lambda: vc.AwsSecretsEngine("e", {"access_key": "a"}),
        "AwsSecretsEngine 'e'",
        "'secret_key': missing",
    ),
    (
        "kubernetes role without policies",
        lambda: vc.KubernetesAuth(
            "k",
            {
                "kubernetes_host": "https://k",
                "roles": {"app": {"service_accounts": ["a"], "namespaces": ["b"]}},
            },
        ),
        "KubernetesAuth 'k'",
        "grant nothing",
    ),
    (
        "unknown kubernetes role",
        lambda: vc.KubernetesAuth("k", {"kubernetes_host": "https://k"}).sidekick_auth("x"),
        "KubernetesAuth 'k'",
        "no role 'x'",
    ),
    (
        "file escapes",
        workload(secrets=[{"name": "x", "type": "kv", "path": "kv/data/team-a/x", "file": "../etc/passwd"}]),
        "Workload 'web'",
        "leaves the output directory",
    ),
    (
        "shell hook",
        workload(
            secrets=[
                {"name": "x", "type": "kv", "path": "kv/data/team-a/x", "on_change": {"exec": "kill -HUP 1"}}
            ]
        ),
        "Workload 'web'",
        "argv list",
    ),
    (
        "capital policy name",
        lambda: vc.Policy("Team-A", {"rules": {"a": ["read"]}}),
        "Policy 'Team-A'",
        "has capitals, which Vault lowercases",
    ),
    ("capital username", lambda: vc.User("u", {"username": "Alice"}), "User 'u'", "use 'alice'"),
    ("root app", workload(run_as_user=0), "Workload 'web'", "non-root uid"),
    (
        "signal hook (needs a shared uid: the app could read the sidekick's credentials)",
        workload(
            run_as_user=1000,
            secrets=[
                {
                    "name": "x",
                    "type": "kv",
                    "path": "kv/data/team-a/x",
                    "on_change": {"signal": {"name": "HUP", "pidfile": "/tmp/app.pid"}},
                }
            ],
        ),
        "Workload 'web'",
        "read the sidekick's Vault credentials through /proc",
    ),
]


@pytest.mark.parametrize(("case", "program", "component", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_clear_error(
    case: str, program: Callable[[], Any], component: str, message: str
) -> None:
    with pytest.raises(vc.ConfigError) as err:
        run_under_mocks(program)
    text = str(err.value)
    assert text.startswith(f"{component}: field '"), text
    assert message in text, text
    assert "Fix: " in text and "\n" not in text
    assert err.value.fix


def _external_policy_user_and_web(**workload: Any) -> None:
    """A user holding only a policy the program does not declare, and a workload reading kv/data/x."""
    user = vc.User(
        "app", {"policies": ["external-policy"], "namespaces": ["team-a"], "vault_addr": VAULT_ADDR}
    )
    vc.Workload(
        "web",
        {  # type: ignore[typeddict-item]
            "namespace": "team-a",
            "image": "app:1",
            "auth": user,
            "sidekick_image": SIDEKICK,
            "vault_addr": VAULT_ADDR,
            "secrets": [{"name": "db", "type": "kv", "path": "kv/data/x"}],
            **workload,
        },
    )


def test_unknown_policies_warn_instead_of_failing(caplog: pytest.LogCaptureFixture) -> None:
    run = run_under_mocks(_external_policy_user_and_web)
    assert run.of_type("kubernetes:apps/v1:Deployment")
    assert "cannot be checked before deploy" in caplog.text


def test_explicit_policies_enable_the_check_for_named_policies() -> None:
    with pytest.raises(vc.ConfigError, match="cannot read 'kv/data/x'"):
        run_under_mocks(lambda: _external_policy_user_and_web(policies=[{"kv/data/y": ["read"]}]))


def test_secret_stays_secret_even_when_passed_plain() -> None:
    run = run_under_mocks(lambda: vc.AwsSecretsEngine("e", {"access_key": "a", "secret_key": "plain"}))
    assert "secretKey" in run.one("vault:aws/secretBackend:SecretBackend").secret_inputs


def test_outputs_are_typed_attributes() -> None:
    for cls in vc.COMPONENTS:
        own = cls.__dict__.get("__annotations__", {})
        assert own, cls.__name__


def test_every_name_imports_from_vaultconf() -> None:
    expected = {
        "Policy",
        "User",
        "CertificateAuthority",
        "PkiRole",
        "AwsSecretsEngine",
        "AwsRole",
        "KvStore",
        "KubernetesAuth",
        "AppRole",
        "Workload",
    }
    for name in expected:
        cls = getattr(vc, name)
        assert issubclass(cls, pulumi.ComponentResource), name
        assert getattr(vc, f"{name}Args").__annotations__, name
    assert set(vc.__all__) >= expected | {"sidekick_container", "capabilities", "allows", "render_policy"}
    assert callable(vc.sidekick_container)
    assert {c.__name__ for c in vc.COMPONENTS} == expected
