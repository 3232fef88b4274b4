"""Splitting one organisation across stacks (docs/scaling.md): what a stack exports for the others, and
whether the `external: true` objects of a team's YAML are exported by the platform stack it names.

Pure, like the rest of `vaultconf.config`: the stack program reads the platform's output through
`pulumi.StackReference` (vaultconf.stackbuild.platform) and hands the plain value to `check()`.

The export is one stack output, `vaultconf` (EXPORT_KEY), a mapping of plain strings, versioned:

    {"version": 1,
     "cas": {"<name>": {"mount": "<mount path>"}},
     "pki_roles": {"<name>": {"ca": "<CA name>"}},
     "aws_engine": {"mount": "<mount path>"} | null,
     "aws_roles": {"<name>": {}},
     "kv": {"<name>": {}},
     "kubernetes_auth": {"mount": "<mount path>"} | null,
     "approle": {"mount": "<mount path>"} | null}

Each entry carries exactly the fields an `external: true` declaration may carry besides its name (the
schema's `owned_or_external`), so a team's declaration and the platform's export compare field by field.
Only objects the stack owns are exported; its own external objects are someone else's. An auth mount
(kubernetes, AppRole) is exported by the stack that creates it (it declares roles on it and is not
`external`); a team's `external: true` on the section means: register my roles on that mount.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .findings import UNKNOWN, Finding, Loc
from .model import Config, Obj
from .policy_lint import _err
from .tree import LocDict

EXPORT_KEY = "vaultconf"
"""The one stack output every vaultconf stack publishes (`pulumi stack output vaultconf`)."""
EXPORT_VERSION = 1


def exports(cfg: Config) -> dict[str, Any]:
    """What this stack owns that another stack's YAML may name with `external: true`."""
    engine = cfg.aws_engine
    owned_engine = engine is not None and not engine.external
    return {
        "version": EXPORT_VERSION,
        "cas": {c.name: {"mount": c.mount} for c in cfg.cas if not c.external},
        "pki_roles": {r.name: {"ca": r.ca} for r in cfg.pki_roles if not r.external},
        "aws_engine": {"mount": engine.mount} if owned_engine and engine is not None else None,
        "aws_roles": {r.name: {} for r in cfg.aws_roles if not r.external} if owned_engine else {},
        "kv": {s.name: {} for s in cfg.kv if not s.external},
        "kubernetes_auth": _auth_mount(cfg.kubernetes_mount, cfg.kubernetes_roles, cfg.kubernetes_external),
        "approle": _auth_mount(cfg.approle_mount, cfg.approle_roles, cfg.approle_external),
    }


def _auth_mount(mount: str, roles: list[Any], external: bool) -> dict[str, str] | None:
    """The stack program creates an auth mount when it declares roles on it (stackbuild/build.py)."""
    return {"mount": mount} if roles and not external else None


def _auth_externals(cfg: Config) -> Iterator[tuple[str, str, str, LocDict]]:
    """(section, what, mount, node) of each auth mount the YAML declares `external: true`."""
    for section, what, mount, external in (
        ("kubernetes_auth", "the kubernetes auth mount", cfg.kubernetes_mount, cfg.kubernetes_external),
        ("approle", "the AppRole mount", cfg.approle_mount, cfg.approle_external),
    ):
        if external:
            node = cfg.tree.get(section)
            yield section, what, mount, node if isinstance(node, LocDict) else LocDict(UNKNOWN)


def externals(cfg: Config) -> Iterator[tuple[str, str, Obj, dict[str, str]]]:
    """(section, name, object, fields) of every `external: true` object: what the platform must export."""
    for ca in cfg.cas:
        if ca.external:
            yield "cas", ca.name, ca, {"mount": ca.mount}
    for role in cfg.pki_roles:
        if role.external:
            yield "pki_roles", role.name, role, {"ca": role.ca}
    for aws_role in cfg.aws_roles:
        if aws_role.external:
            yield "aws_roles", aws_role.name, aws_role, {}
    for store in cfg.kv:
        if store.external:
            yield "kv", store.name, store, {}


WHAT = {"cas": "CA", "pki_roles": "PKI role", "aws_roles": "AWS role", "kv": "KV store"}
WHERE = {"cas": "pki.cas", "pki_roles": "pki.roles", "aws_roles": "aws.roles", "kv": "kv"}


def has_externals(cfg: Config) -> bool:
    engine = cfg.aws_engine is not None and cfg.aws_engine.external
    return engine or any(True for _ in externals(cfg)) or any(True for _ in _auth_externals(cfg))


def check(cfg: Config, exported: Any, platform: str) -> list[Finding]:
    """A finding for every external object `exported` (the platform stack's `vaultconf` output) lacks or
    declares differently; a single finding when the output is missing or not ours."""
    engine = cfg.aws_engine
    if not isinstance(exported, Mapping) or exported.get("version") != EXPORT_VERSION:
        nodes = [obj.node for _, _, obj, _ in externals(cfg)]
        nodes += [engine.node] if engine is not None and engine.external else []
        nodes += [node for _, _, _, node in _auth_externals(cfg)]
        where: Loc = nodes[0].loc if nodes else UNKNOWN
        got = "has no `vaultconf` output" if exported is None else "has a `vaultconf` output of another form"
        fix = (f"run `pulumi up --stack {platform}` first with this vaultconf, or point "
               "vaultconf:platformStack at the stack that owns the external objects")
        message = f"stack '{platform}' {got} (version {EXPORT_VERSION} expected)"
        return [Finding("external", where, "vaultconf:platformStack", message, fix)]
    out: list[Finding] = []
    if engine is not None and engine.external:
        theirs = exported.get("aws_engine")
        what = "the AWS engine"
        if not isinstance(theirs, Mapping):
            out.append(_missing("aws.engine", "aws", what, platform, "(it has none)", engine.node))
        elif theirs.get("mount") != engine.mount:
            mount = engine.mount
            out.append(_differs("aws.engine.mount", what, "mount", mount, theirs, platform, engine.node))
    for section, what, mount, node in _auth_externals(cfg):
        theirs = exported.get(section)
        if not isinstance(theirs, Mapping):
            # the program creates an auth mount only with a role on it (stackbuild/build.py)
            declare = f"{section} with its mount and at least one role"
            out.append(_missing(f"{section}.external", declare, what, platform, "(it creates none)", node))
        elif theirs.get("mount") != mount:
            out.append(_differs(f"{section}.mount", what, "mount", mount, theirs, platform, node))
    for section, name, obj, fields in externals(cfg):
        offered = exported.get(section)
        offered = offered if isinstance(offered, Mapping) else {}
        what = f"{WHAT[section]} '{name}'"
        if name not in offered:
            listed = f"(it exports: {_listing(offered)})"
            out.append(_missing(f"{obj.field}.external", WHERE[section], what, platform, listed, obj.node))
            continue
        theirs = offered[name] if isinstance(offered[name], Mapping) else {}
        for key, ours in fields.items():
            if theirs.get(key) != ours:
                out.append(_differs(f"{obj.field}.{key}", what, key, ours, theirs, platform, obj.node))
    return out


def _missing(field: str, under: str, what: str, platform: str, listed: str, node: LocDict) -> Finding:
    return Finding(
        "external",
        node.locate("external") if "external" in node else node.loc,
        field,
        f"{what} is `external: true`, but stack '{platform}' does not export it {listed}",
        f"declare it (without `external`) under {under} in the platform stack's tree and run its `up` "
        "first, or correct the name",
    )


# The platform stack's output is another team's data: what of it reaches a message is bounded and printable.
SHOWN_NAMES = 20
SHOWN_CHARS = 120


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} characters)"


def _listing(offered: Mapping[Any, Any]) -> str:
    names = sorted(_shown(n) for n in offered)
    more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return ", ".join(names[:SHOWN_NAMES]) + more if names else "none"


def _differs(
    field: str, what: str, key: str, ours: str, theirs: Mapping[str, Any], platform: str, node: LocDict
) -> Finding:
    exported = _shown(theirs.get(key))
    return Finding(
        "external",
        node.locate(key) if key in node else node.loc,
        field,
        f"{what}: {key} '{ours}' here, but stack '{platform}' exports {key} '{exported}'",
        f"write `{key}: {exported}`",
    )


def ownership(cfg: Config) -> list[Finding]:
    """`external: true` objects (owned by the platform stack, docs/scaling.md) and the stack's own objects
    do not mix where one is built on the other: a role is created by the stack that owns its CA or engine,
    an intermediate CA by the stack that owns its issuer."""
    out: list[Finding] = []
    cas = {c.name: c for c in cfg.cas}

    def mismatch(obj: Obj, field: str, what: str, owner: str, owner_external: bool) -> None:
        if owner_external:
            problem = f"{what} lives on {owner}, which is external: the stack that owns it creates it"
            fix = "mark it `external: true` too (the platform tree declares it), or own both here"
        else:
            problem = f"{what} is external, but {owner} is owned by this stack: nobody would create it"
            fix = "drop `external`, or mark both external (the platform tree declares them)"
        out.append(_err("external", obj, field, problem, fix))

    for ca in cfg.cas:
        issuer = cas.get(ca.issuer or "")
        if not ca.external and issuer is not None and issuer.external:
            mismatch(ca, "issuer", f"intermediate CA '{ca.name}'", f"its issuer CA '{issuer.name}'", True)
    for role in cfg.pki_roles:
        home = cas.get(role.ca)
        if home is not None and home.external != role.external:
            mismatch(role, "external" if role.external else "ca", f"PKI role '{role.name}'",
                     f"CA '{home.name}'", home.external)
    engine = cfg.aws_engine
    for aws_role in cfg.aws_roles:
        if engine is not None and engine.external != aws_role.external:
            mismatch(aws_role, "external" if aws_role.external else "name", f"AWS role '{aws_role.name}'",
                     f"the AWS engine ('{engine.mount}')", engine.external)
    return out
