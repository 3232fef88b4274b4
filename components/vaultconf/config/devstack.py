"""Development stacks: the overlay marker, and what only they may do without complaint.

A stack is a dev stack when its overlay (never base/, which every stack shares) says so:

    # infra/config/dev/overlay.yaml
    settings:
      dev_overlay: true

Only a dev stack may run with `vaultconf:validation warn` (the stack program refuses it elsewhere: a typo in
one Pulumi config key must not deploy past every error in production), and only a dev stack may talk to Vault
over plain http or with TLS verification off without `vaultconf validate` warning about it.
"""

from __future__ import annotations

import pathlib
from typing import Any

from .findings import Finding, Loc, Severity, UnusableInput
from .tree import LocDict, load_file, plain

MARKER = "dev_overlay"
RULE = "dev-overlay"
MARK_IT = f"add `settings: {{{MARKER}: true}}` to the overlay of a development stack"
ADDRESS_KEYS = ("vaultconf:vaultAddress", "vaultconf:podVaultAddress")
SKIP_VERIFY_KEY = "vaultconf:vaultSkipTlsVerify"


def _marked(tree: Any) -> bool:
    settings = tree.get("settings") if isinstance(tree, dict) else None
    return isinstance(settings, dict) and settings.get(MARKER) is True


def base_findings(base: LocDict) -> list[Finding]:
    """An error when base/ carries the marker: it would make every stack, production too, a dev stack."""
    if not _marked(base):
        return []
    loc = base["settings"].locate(MARKER) if isinstance(base.get("settings"), LocDict) else base.loc
    return [Finding(RULE, loc, f"settings.{MARKER}",
                    "base/ is shared by every stack and cannot mark them all as dev stacks",
                    "move it to the dev stack's overlay directory")]


def is_dev(merged: Any, marked_in_base: bool) -> bool:
    return _marked(merged) and not marked_in_base


def warn_mode_refusal(validation: str | None, overlay: str, dev: bool) -> str | None:
    """Why the stack program must not run with this `vaultconf:validation` value, or None if it may."""
    if validation in (None, "", "enforce"):
        return None
    if validation != "warn":
        return f"vaultconf:validation is {validation!r}: use enforce (the default) or, on a dev stack, warn"
    if dev:
        return None
    return (f"vaultconf:validation warn is refused: overlay '{overlay}' is not a dev overlay, and warn "
            f"deploys past every error ({MARK_IT}, or `pulumi config rm vaultconf:validation`)")


def _stack_settings(path: pathlib.Path) -> dict[str, tuple[Any, Loc]]:
    """{full key: (value, where)} of a Pulumi.<stack>.yaml's `config:` ({} when there is none)."""
    doc = load_file(path, str(path))
    config = doc.get("config") if isinstance(doc, LocDict) else None
    if not isinstance(config, LocDict):
        return {}
    return {(k if ":" in k else f"vaultconf:{k}"): (plain(v), config.locate(k)) for k, v in config.items()}


def transport_findings(
    project: pathlib.Path | None, stack: str, settings_file: pathlib.Path | None = None
) -> list[Finding]:
    """Warnings for a plain-http Vault address or skip-verify in a non-dev stack's Pulumi.<stack>.yaml (or
    the `settings_file` given instead, `vaultconf validate --settings-file`): the Vault token, every
    generated password and every secret the sidekicks fetch would cross the network readable (or from a
    server nobody verified)."""
    path = settings_file or (project / f"Pulumi.{stack}.yaml" if project is not None else None)
    if path is None or not path.is_file():
        return []
    try:
        values = _stack_settings(path)
    except UnusableInput as exc:
        return [Finding("transport", exc.loc, "", f"cannot read the stack settings: {exc.message}", exc.fix,
                        Severity.WARNING)]
    out: list[Finding] = []
    for key in ADDRESS_KEYS:
        value, loc = values.get(key, (None, Loc(str(path), 0)))
        if isinstance(value, str) and value.strip().lower().startswith("http://"):
            out.append(Finding("transport", loc, key, f"stack '{stack}' talks to Vault over plain http "
                               f"({value}): tokens and secrets cross the network unencrypted",
                               f"use an https:// address, or {MARK_IT}", Severity.WARNING))
    value, loc = values.get(SKIP_VERIFY_KEY, (None, Loc(str(path), 0)))
    if value is True or str(value).strip().lower() == "true":
        out.append(Finding("transport", loc, SKIP_VERIFY_KEY, f"stack '{stack}' skips verifying Vault's TLS "
                           "certificate: anyone on the path can pose as Vault and collect the token",
                           f"set vaultCaCertFile to Vault's CA instead, or {MARK_IT}", Severity.WARNING))
    return out
