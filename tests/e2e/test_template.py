"""The `pulumi new` template (templates/vaultconf-stack) scaffolds a stack that uses the library.

Under the mocks (`vaultconf.testing`) its program registers the components; with the real CLI, `pulumi new`
creates a project from it (offline: `--generate-only`, the venv is this repository's) and `pulumi preview`
runs it against a real Vault dev server and the test kube-apiserver.
"""

from __future__ import annotations

import contextlib
import pathlib
import runpy
from typing import Any

import pytest
import yaml
from vaultconf.testing import run_under_mocks

from tests.support.kube import CLUSTER_NAME
from tests.support.pulumi import PulumiError, change_summary, find_engine, new_workspace

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "vaultconf-stack"
PROJECT = "myvault"


def _template_config() -> dict[str, Any]:
    doc = yaml.safe_load((TEMPLATE / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert doc["runtime"]["name"] == "python"
    return dict(doc["template"]["config"])


def test_the_template_program_registers_the_components() -> None:
    config = {f"{PROJECT}:{key}": str(spec["default"]) for key, spec in _template_config().items()}
    config[f"{PROJECT}:dbPassword"] = "pw-from-config"
    run = run_under_mocks(lambda: runpy.run_path(str(TEMPLATE / "__main__.py"), run_name="__main__"),
                          project=PROJECT, stack="dev", config=config,
                          secret_config=(f"{PROJECT}:dbPassword",))
    types = {r.type for r in run.resources}
    for expected in ("vaultconf:index:Policy", "vaultconf:index:User", "vaultconf:index:KvStore",
                     "vaultconf:index:Workload", "kubernetes:apps/v1:Deployment"):
        assert expected in types, expected
    secret = run.one("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["namespace"] == "team-a"
    deployment = run.one("kubernetes:apps/v1:Deployment")
    images = [c["image"] for c in deployment.inputs["spec"]["template"]["spec"].get("initContainers", [])]
    assert "ghcr.io/example/vaultconf-sidekick:0.1.0" in images
    assert "vaultconf" in (TEMPLATE / "requirements.txt").read_text(encoding="utf-8")


def test_the_template_needs_its_secret() -> None:
    config = {f"{PROJECT}:{key}": str(spec["default"]) for key, spec in _template_config().items()}
    with pytest.raises(Exception, match="dbPassword"):
        run_under_mocks(lambda: runpy.run_path(str(TEMPLATE / "__main__.py"), run_name="__main__"),
                        project=PROJECT, config=config)


@pytest.mark.engines
@pytest.mark.slow
def test_pulumi_new_from_the_template_then_preview(tmp_path: pathlib.Path, vault_dev: Any,
                                                   kube_apiserver: Any,
                                                   pulumi_engines: dict[str, pathlib.Path]) -> None:
    for plugin in ("pulumi-resource-vault", "pulumi-resource-kubernetes", "pulumi-resource-random"):
        find_engine(plugin)
    project = tmp_path / PROJECT
    project.mkdir()
    ws = new_workspace(project, state_dir=tmp_path / "state",
                       env={"VAULT_TOKEN": vault_dev.token, "KUBECONFIG": str(kube_apiserver.kubeconfig)})
    try:
        ws.run("new", str(TEMPLATE), "--generate-only", "--yes", "--force", "--name", PROJECT,
               "--description", "made by the template test")
        generated = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))
        assert generated["name"] == PROJECT and generated["description"] == "made by the template test"
        assert "template" not in generated  # pulumi new drops the template section
        assert (project / "__main__.py").read_text() == (TEMPLATE / "__main__.py").read_text()
        # offline: the venv the template names is this repository's (it has vaultconf installed)
        (project / generated["runtime"]["options"]["virtualenv"]).symlink_to(ROOT / ".venv")
        ws.stack_init("dev")
        defaults = {key: str(spec["default"]) for key, spec in _template_config().items()}
        defaults["vaultAddress"] = vault_dev.addr
        defaults["podVaultAddress"] = vault_dev.addr
        for key, value in defaults.items():
            ws.config_set(f"{PROJECT}:{key}", value)
        ws.config_set(f"{PROJECT}:kubeContext", CLUSTER_NAME)
        ws.config_set(f"{PROJECT}:dbPassword", "template-db-password", secret=True)
        preview = ws.preview()
        creates = change_summary(preview).get("create", 0)
        assert creates >= 10, preview.get("changeSummary")
        types = {step.get("newState", {}).get("type") for step in preview.get("steps", [])}
        for expected in ("vaultconf:index:Workload", "vaultconf:index:User", "vault:index/policy:Policy",
                         "kubernetes:apps/v1:Deployment"):
            assert expected in types, (expected, sorted(t for t in types if t))
    finally:
        with contextlib.suppress(PulumiError):  # nothing was deployed: a preview only
            ws.stack_rm()
