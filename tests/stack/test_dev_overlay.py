"""Development stacks (vaultconf.config.devstack): the overlay marker, `validation: warn` only there, and
`vaultconf validate` warnings for plain http or skip-verify on every other stack."""

from __future__ import annotations

import pathlib
import shutil

import pulumi
import pytest
from vaultconf.config import validate

from tests.stack._helpers import EXAMPLE, example_with, run_cli
from tests.stack._program import run_stack, stack_config


def test_only_the_marked_overlay_is_a_dev_stack() -> None:
    assert validate(EXAMPLE, "dev").dev is True
    assert validate(EXAMPLE, "prod").dev is False and validate(EXAMPLE, "staging").dev is False


def test_base_cannot_mark_every_stack_dev(tmp_path: pathlib.Path) -> None:
    root = example_with(tmp_path, "settings:\n  dev_overlay: true\n", name="base/zz-dev.yaml")
    result = validate(root, "prod")
    assert result.dev is False
    (error,) = [f for f in result.errors if f.rule == "dev-overlay"]
    assert error.loc.file.endswith("base/zz-dev.yaml") and error.loc.line == 2, error
    assert validate(root, "dev").dev is False  # not even the dev overlay, while base carries it


def test_validation_warn_is_refused_outside_a_dev_overlay() -> None:
    with pytest.raises(pulumi.RunError, match="overlay 'prod' is not a dev overlay"):
        run_stack("prod", stack_config("prod", validation="warn"))
    with pytest.raises(pulumi.RunError, match="use enforce"):
        run_stack("dev", stack_config("dev", validation="warm"))  # a typo is not "enforce" either


def _project(tmp_path: pathlib.Path, stack: str, settings: str) -> pathlib.Path:
    """A project directory (Pulumi.yaml + Pulumi.<stack>.yaml) holding a copy of the example config."""
    (tmp_path / "Pulumi.yaml").write_text("name: vaultconf\nruntime: python\n", encoding="utf-8")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(settings, encoding="utf-8")
    shutil.copytree(EXAMPLE, tmp_path / "infra" / "config")
    return tmp_path / "infra" / "config"


INSECURE = ("config:\n  vaultconf:vaultAddress: http://vault.example:8200\n"
            "  podVaultAddress: https://vault.vault.svc:8200\n  vaultconf:vaultSkipTlsVerify: true\n")


def test_plain_http_and_skip_verify_warn_on_a_non_dev_stack(tmp_path: pathlib.Path) -> None:
    config_dir = _project(tmp_path, "prod", INSECURE)
    code, out = run_cli("validate", "--config-dir", str(config_dir), "--stack", "prod")
    assert code == 0, out
    warnings = [ln for ln in out.splitlines() if "warning:" in ln]
    assert len(warnings) == 2, out
    http, skip = sorted(warnings, key=lambda ln: "skips" in ln)
    assert "Pulumi.prod.yaml:2: warning: vaultconf:vaultAddress: stack 'prod' talks to Vault" in http
    assert "Pulumi.prod.yaml:4: warning: vaultconf:vaultSkipTlsVerify" in skip and "dev_overlay" in skip
    assert run_cli("validate", "--config-dir", str(config_dir), "--stack", "prod", "--strict")[0] == 1


def test_a_dev_stack_may_use_them(tmp_path: pathlib.Path) -> None:
    config_dir = _project(tmp_path, "dev", INSECURE)
    code, out = run_cli("validate", "--config-dir", str(config_dir), "--stack", "dev", "--strict")
    assert code == 0, out


def test_an_unreadable_stack_file_is_a_warning_not_a_crash(tmp_path: pathlib.Path) -> None:
    config_dir = _project(tmp_path, "prod", "config: [unclosed\n")
    code, out = run_cli("validate", "--config-dir", str(config_dir), "--stack", "prod")
    assert code == 0 and "cannot read the stack settings" in out, out
