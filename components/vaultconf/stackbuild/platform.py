"""One organisation, several stacks (docs/scaling.md): the stack program's side of the split.

* `publish(cfg)`: every stack exports what it owns that other stacks may name, as one output `vaultconf`
  (the form is `vaultconf.config.external`).
* `gate(cfg, platform)`: a stack whose YAML has `external: true` objects reads the `vaultconf` output of the
  stack named by `vaultconf:platformStack` through a `pulumi.StackReference` and checks each object is
  exported there, as declared. The check gates the providers (`Gate.wrap` on their inputs), so nothing is
  created before it passes; when it fails, preview and up stop with every finding (file:line, what to
  write) and one summary error.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pulumi

from vaultconf.config import external
from vaultconf.config.model import Config

T = TypeVar("T")


def publish(cfg: Config) -> None:
    pulumi.export(external.EXPORT_KEY, external.exports(cfg))


class Gate:
    """The checked platform reference; `wrap(value)` is `value` once the check has passed."""

    def __init__(self, checked: pulumi.Output[str] | None) -> None:
        self.checked = checked

    def wrap(self, value: T) -> T | pulumi.Output[T]:
        if self.checked is None:
            return value
        return self.checked.apply(lambda _: value)


def judge(cfg: Config, exported: Any, platform: str) -> str:
    """`platform` when its output `exported` holds every external object of `cfg`; else each finding is
    logged as an error and the run stops (pulumi.RunError: one line, no traceback)."""
    findings = external.check(cfg, exported, platform)
    for finding in findings:
        pulumi.log.error(str(finding))
    if findings:
        raise pulumi.RunError(
            f"vaultconf: {len(findings)} `external: true` object(s) not exported as declared by stack "
            f"'{platform}' (vaultconf:platformStack); see the errors above"
        )
    return platform


def gate(cfg: Config, platform: str | None) -> Gate:
    """The platform check for `cfg`'s external objects (a no-op gate when it has none)."""
    if not external.has_externals(cfg):
        return Gate(None)
    if not platform:
        pulumi.log.warn(
            "vaultconf: the YAML has `external: true` objects but vaultconf:platformStack is not set: "
            "nothing checks that another stack owns them (docs/scaling.md)"
        )
        return Gate(None)
    reference = pulumi.StackReference(f"vaultconf-platform-{platform.replace('/', '-')}", stack_name=platform)
    checked = reference.get_output(external.EXPORT_KEY).apply(lambda exported: judge(cfg, exported, platform))
    pulumi.export("platform_stack", checked)
    return Gate(checked)
