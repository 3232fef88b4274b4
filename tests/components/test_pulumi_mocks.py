"""The recording mocks themselves: what they capture and how failures surface."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_random as random
import pulumi_vault as vault
import pytest
from vaultconf.testing import MockRun, run_under_mocks


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        pw = random.RandomPassword(f"{name}-pw", length=40, opts=pulumi.ResourceOptions(parent=self))
        vault.Policy(
            f"{name}-p",
            policy=pw.result.apply(lambda r: f"# {len(r)}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pw]),
        )
        self.secret = pulumi.Output.secret("hidden")
        self.register_outputs({"secret": self.secret, "plain": "shown"})


def test_records_parent_dependencies_secrets_and_computed_outputs() -> None:
    run = run_under_mocks(lambda: Box("b"))
    box = run.one("test:index:Box")
    pw = run.one("random:index/randomPassword:RandomPassword")
    policy = run.one("vault:index/policy:Policy")
    assert pw.parent == box.urn and policy.parent == box.urn
    assert pw.urn in policy.dependencies
    assert policy.inputs["policy"] == "# 40"  # the mock computed a 40-char result
    assert box.outputs == {"secret": "hidden", "plain": "shown"}
    assert box.secret_outputs == {"secret"}
    assert pw.inputs["length"] == 40 and isinstance(pw.inputs["length"], int)


def test_an_error_inside_an_apply_surfaces() -> None:
    def program() -> None:
        pulumi.Output.from_input("x").apply(lambda _: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        run_under_mocks(program)


def test_stack_config_is_visible() -> None:
    def program() -> pulumi.Output[str]:
        config = pulumi.Config()
        return pulumi.Output.all(config.require("plain"), config.require_secret("hidden")).apply(
            lambda v: "+".join(v)
        )

    run = run_under_mocks(
        program,
        project="proj",
        config={"proj:plain": "a", "proj:hidden": "b"},
        secret_config=("proj:hidden",),
    )
    assert run.result == "a+b"


def test_fixture_runs_programs(pulumi_run: Callable[..., MockRun]) -> None:
    run = pulumi_run(lambda: Box("fx"), stack="fixture")
    assert run.one("test:index:Box").urn.startswith("urn:pulumi:fixture::vaultconf::")
