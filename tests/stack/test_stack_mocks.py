"""The real infra/__main__.py for dev, staging and prod under recording mocks."""

from __future__ import annotations

import json
import pathlib

import pulumi
import pytest
from vaultconf.testing import MockRun, RecordingMocks

from tests.stack._helpers import example_with
from tests.stack._program import SEEDED, run_stack, stack_config

STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def runs() -> dict[str, MockRun]:
    return {stack: run_stack(stack) for stack in STACKS}


def _deployment(run: MockRun) -> dict:
    return run.one("kubernetes:apps/v1:Deployment").inputs


def test_every_stack_builds_the_example(runs: dict[str, MockRun]) -> None:
    for stack, run in runs.items():
        types = {r.type for r in run.resources}
        for expected in (
            "vaultconf:index:Policy",
            "vaultconf:index:User",
            "vaultconf:index:CertificateAuthority",
            "vaultconf:index:PkiRole",
            "vaultconf:index:AwsSecretsEngine",
            "vaultconf:index:AwsRole",
            "vaultconf:index:KvStore",
            "vaultconf:index:Workload",
            "kubernetes:apps/v1:Deployment",
            "kubernetes:batch/v1:Job",
            "kubernetes:core/v1:Namespace",
        ):
            assert expected in types, (stack, expected)
        assert len(run.of_type("vault:index/policy:Policy")) == 4
        assert len(run.of_type("vaultconf:index:CertificateAuthority")) == 2


def test_providers_are_explicit(runs: dict[str, MockRun]) -> None:
    for run in runs.values():
        vault_provider = run.one("pulumi:providers:vault").urn
        k8s_provider = run.one("pulumi:providers:kubernetes").urn
        for rec in run.resources:
            if not rec.custom or rec.type.startswith("pulumi:providers:"):
                continue
            if rec.type.startswith("vault:"):
                assert rec.provider_urn == vault_provider, rec.name
            elif rec.type.startswith("kubernetes:"):
                assert rec.provider_urn == k8s_provider, rec.name


def test_overlays_change_what_is_built(runs: dict[str, MockRun]) -> None:
    replicas = {s: _deployment(r)["spec"]["replicas"] for s, r in runs.items()}
    assert replicas == {"dev": 1, "staging": 2, "prod": 3}
    users = {
        s: {
            r.inputs["username"]
            for r in run.of_type("vault:index/userpassAuthBackendUser:UserpassAuthBackendUser")
        }
        for s, run in runs.items()
    }
    assert users["dev"] == {"billing-api", "reports-export", "dev-alice"}
    assert users["prod"] == users["staging"] == {"billing-api", "reports-export"}
    assert runs["dev"].of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    assert not runs["prod"].of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    token_ttl = {
        s: next(
            r.inputs["tokenTtl"]
            for r in run.of_type("vault:index/userpassAuthBackendUser:UserpassAuthBackendUser")
            if r.inputs["username"] == "billing-api"
        )
        for s, run in runs.items()
    }
    assert token_ttl == {"dev": 900, "staging": 3600, "prod": 3600}


def test_stack_secrets_stay_secret(runs: dict[str, MockRun]) -> None:
    run = runs["dev"]
    backend = run.one("vault:aws/secretBackend:SecretBackend")
    assert "secretKey" in backend.secret_inputs
    seeded = {r.inputs["name"]: r for r in run.of_type("vault:kv/secretV2:SecretV2")}
    assert set(seeded) == {"billing/db", "reports/smtp"}
    assert "dataJson" in seeded["billing/db"].secret_inputs
    data = json.loads(seeded["billing/db"].inputs["dataJson"])
    assert data == {
        "username": "secret-value-of-kv-apps-billing-db-username",
        "password": "secret-value-of-kv-apps-billing-db-password",
    }
    for rec in run.resources:  # no stack secret reaches a non-secret input
        for key, value in rec.inputs.items():
            if key not in rec.secret_inputs:
                assert "secret-value-of-" not in json.dumps(value, default=str), (rec.name, key)


def test_sidekick_config_carries_the_yaml_secrets(runs: dict[str, MockRun]) -> None:
    maps = {r.inputs["metadata"]["namespace"]: r for r in runs["dev"].of_type("kubernetes:core/v1:ConfigMap")}
    config = json.loads(maps["billing"].inputs["data"]["sidekick.json"])
    assert config["auth"]["method"] == "userpass"
    assert [(r["name"], r["type"], r["path"]) for r in config["resources"]] == [
        ("db", "kv", "apps/data/billing/db"),
        ("tls", "pki", "pki-int/issue/internal"),
        ("aws", "aws", "aws/creds/app-s3"),
    ]
    assert config["vault"]["addr"] == "http://vault.vault.svc:8200"


def test_intermediate_is_signed_by_the_root(runs: dict[str, MockRun]) -> None:
    run = runs["staging"]
    sign = run.one("vault:pkiSecret/secretBackendRootSignIntermediate:SecretBackendRootSignIntermediate")
    assert sign.inputs["backend"] == "pki-root"
    assert run.one("vault:pkiSecret/secretBackendRole:SecretBackendRole").inputs["backend"] == "pki-int"


def test_a_config_that_does_not_validate_registers_nothing(tmp_path: pathlib.Path) -> None:
    root = example_with(tmp_path, "users:\n  - name: billing-api\n    policies: [missing]\n")
    config = stack_config("dev", configDir=str(root))
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as info:
        run_stack("dev", config, mocks)
    assert "4 error(s)" in str(info.value) and "vaultconf validate --stack dev" in str(info.value)
    assert mocks.resources == []


def test_missing_seed_secret_is_one_clear_error(tmp_path: pathlib.Path) -> None:
    config = stack_config("dev")
    del config[f"vaultconf:{SEEDED[0]}"]
    with pytest.raises(Exception) as info:
        run_stack("dev", config)
    assert SEEDED[0] in str(info.value)


def test_kubernetes_objects_are_named_after_the_yaml(runs: dict[str, MockRun]) -> None:
    run = runs["dev"]
    assert _deployment(run)["metadata"]["name"] == "billing-api"
    assert _deployment(run)["metadata"]["namespace"] == "billing"
    job = run.one("kubernetes:batch/v1:Job").inputs
    assert (job["metadata"]["name"], job["metadata"]["namespace"]) == ("reports-export", "reports")
    accounts = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"])
        for r in run.of_type("kubernetes:core/v1:ServiceAccount")
    }
    assert accounts == {("billing", "billing-api"), ("reports", "reports-export")}
    pod = _deployment(run)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "billing-api"


def test_warn_mode_builds_a_bad_config_for_the_policy_pack_to_block(tmp_path: pathlib.Path) -> None:
    from vaultconf.config import lint

    overlay = "policies:\n  - name: ops\n    rules:\n      sys/*: [update, sudo]\n"
    root = example_with(tmp_path, overlay)
    with pytest.raises(pulumi.RunError):
        run_stack("dev", stack_config("dev", configDir=str(root)))
    run = run_stack("dev", stack_config("dev", configDir=str(root), validation="warn"))
    ops = next(r for r in run.of_type("vault:index/policy:Policy") if r.inputs["name"] == "ops")
    assert {i.rule for i in lint.policy_resource_issues(ops.inputs)} == {"sudo", "escalation"}
