"""One list of the stack's settings (vaultconf.config.settings): the program reports every missing one at
once, `vaultconf validate --check-settings` reports the same ones from Pulumi.<stack>.yaml, and
docs/settings.md documents them all."""

from __future__ import annotations

import json
import pathlib
import re

import pulumi
import pytest
from vaultconf.config import settings, validate

from tests.stack._helpers import EXAMPLE, run_cli
from tests.stack._program import SECRETS, run_stack, stack_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
REQUIRED_PLAIN = ("vaultconf:vaultAddress", "vaultconf:sidekickImage")


def _needed(stack: str = "dev") -> list[settings.Setting]:
    cfg = validate(EXAMPLE, stack).config
    assert cfg is not None
    return settings.required_for(cfg)


def test_the_list_is_derived_from_the_desired_state() -> None:
    keys = [s.key for s in _needed()]
    assert set(SECRETS) <= set(keys)  # AWS root keys and the four seeded KV values
    assert {"vaultAddress", "sidekickImage"} <= set(keys)
    assert all(s.secret for s in _needed() if s.key in SECRETS)


def test_a_stack_missing_everything_fails_once_listing_every_setting() -> None:
    config = {k: v for k, v in stack_config("dev").items() if k.split(":", 1)[1] not in SECRETS}
    for key in REQUIRED_PLAIN:
        del config[key]
    with pytest.raises(pulumi.RunError) as err:
        run_stack("dev", config)
    message = str(err.value)
    commands = [line.strip() for line in message.splitlines() if line.strip().startswith("pulumi config set")]
    expected = [s.command() for s in _needed()]
    assert commands == expected
    assert f"missing {len(expected)} setting(s)" in message
    for secret in SECRETS:
        assert f"pulumi config set --secret vaultconf:{secret}" in commands
    assert "pulumi config set vaultconf:vaultAddress https://vault.example:8200" in commands


def test_only_what_is_missing_is_listed() -> None:
    config = stack_config("dev")
    del config["vaultconf:awsSecretKey"]
    with pytest.raises(pulumi.RunError) as err:
        run_stack("dev", config)
    assert str(err.value).count("pulumi config set") == 1
    assert "pulumi config set --secret vaultconf:awsSecretKey" in str(err.value)


def test_secret_commands_never_carry_a_value() -> None:
    for setting in _needed():
        if setting.secret:
            assert setting.command() == f"pulumi config set --secret vaultconf:{setting.key}"


def test_check_settings_reads_the_stack_file(tmp_path: pathlib.Path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  vaultconf:vaultAddress: http://127.0.0.1:8200\n"
                          "  vaultconf:awsAccessKey:\n    secure: v1:abc\n", encoding="utf-8")
    code, out = run_cli("validate", "--stack", "dev", "--check-settings", "--settings-file", str(stack_file),
                        "--format", "json")
    assert code == 1
    findings = [f for s in json.loads(out)["stacks"] for f in s["findings"] if f["rule"] == "settings"]
    reported = {f["field"] for f in findings}
    expected = {s.full_key for s in _needed()} - {"vaultconf:vaultAddress", "vaultconf:awsAccessKey"}
    assert reported == expected
    assert all(f["fix"].startswith("pulumi config set ") for f in findings)


def test_check_settings_passes_a_complete_stack_file(tmp_path: pathlib.Path) -> None:
    lines = ["config:"]
    for s in _needed():
        lines.append(f"  {s.full_key}:" + ("\n    secure: v1:abc" if s.secret else f" {s.example}"))
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run_cli("validate", "--stack", "dev", "--check-settings", "--settings-file", str(stack_file))
    assert code == 0, out


def test_check_settings_finds_pulumi_stack_yaml_beside_pulumi_yaml() -> None:
    code, out = run_cli("validate", "--stack", "dev", "--check-settings")
    # the shipped Pulumi.dev.yaml holds the plain settings; the secrets are set per machine
    assert code == 1
    assert "Pulumi.dev.yaml" in out
    assert "vaultconf:vaultAddress" not in out
    for secret in SECRETS:
        assert f"pulumi config set --secret vaultconf:{secret})" in out


def test_check_settings_needs_a_stack() -> None:
    code, _ = run_cli("validate", "--check-settings")
    assert code == 2


def test_docs_settings_page_lists_every_setting() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`vaultconf:([A-Za-z]+)`", page))
    assert {s.key for s in settings.SETTINGS} | {s.key for s in settings.AWS_SECRETS} <= documented
    assert "kv-<store>-<secret path with / as ->-<key>" in page
    assert "docs/settings.md" in (ROOT / "README.md").read_text(encoding="utf-8")
