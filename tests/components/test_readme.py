"""components/README.md's examples run, in order, as one Pulumi program under the mocks."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import kubernetes_validate
from vaultconf.testing import run_under_mocks

README = pathlib.Path(__file__).resolve().parents[2] / "components" / "README.md"
CONFIG = {
    "vaultconf:awsAccessKey": "AKIAEXAMPLE",
    "vaultconf:awsSecretKey": "s3cr3t",
    "vaultconf:dbPassword": "pw",
}


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_an_example_per_component() -> None:
    code = "\n".join(examples())
    for name in (
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
        "sidekick_container",
    ):
        assert f"vaultconf.{name}(" in code, name


def test_readme_examples_run() -> None:
    namespace: dict[str, Any] = {}

    def program() -> None:
        exec(compile("\n".join(examples()), str(README), "exec"), namespace)

    run = run_under_mocks(
        program, config=CONFIG, secret_config=("vaultconf:awsSecretKey", "vaultconf:dbPassword")
    )
    types = {r.type for r in run.resources}
    assert {"vaultconf:index:Workload", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"} <= types
    assert len(run.of_type("vaultconf:index:Workload")) == 3
    for rec in run.resources:
        if rec.type.startswith("kubernetes:") and rec.custom:
            kubernetes_validate.validate(rec.inputs, "1.33", strict=True)
    assert "secretKey" in run.one("vault:aws/secretBackend:SecretBackend").secret_inputs
    assert namespace["parts"].config["auth"]["method"] == "userpass"
