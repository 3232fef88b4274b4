"""Policy analysis: does a policy let its holder raise privileges, or read across teams?

One judge for three callers: `vaultconf validate` (vaultconf.config.rules), the CrossGuard pack
(policy/__main__.py, through vaultconf.config.lint) and the `Policy` component at construction. They all
call `analyze` and print its messages unchanged.

For every rule the rule's path pattern is intersected with each sensitive family's patterns (families.py,
patterns.py). A non-empty intersection is an escalation when the rule grants one of the family's dangerous
capabilities (and `sudo` where Vault demands it) and the whole policy still grants them on that part of the
intersection: one witness path from it is evaluated with Vault's own matching (vaultconf.acl), so a more
specific `deny` or a narrower rule in the same policy subtracts.

This package imports only the standard library and vaultconf.acl/.errors: the CrossGuard pack loads it in
its own venv, without the provider SDKs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vaultconf import acl
from vaultconf.errors import ConfigError

from .families import FAMILIES, NO_MOUNTS, Family, Mounts
from .patterns import LIT, PLUS, PREFIX, TEMPLATE, Pattern, covers, head, intersect, parse, witness

__all__ = ["FAMILIES", "NO_MOUNTS", "Family", "Issue", "Mounts", "admin_marker", "admin_reason", "analyze"]

MAX_RULES = 500  # far above any real policy; bounds the (quadratic) analysis time of a hostile one
MAX_PATH = 1024
READS = frozenset({"read", "list"})
SYSTEM_ROOTS = frozenset({"sys", "auth", "identity", "cubbyhole"})
ADMIN_MARKER = "# vaultconf-admin-reason: "
MIN_REASON = 10
MAX_REASON = 300


@dataclass(frozen=True)
class Issue:
    """One finding about a policy. `rule` is the id (`lint_ignore` takes `sudo` and `root-wildcard`)."""

    rule: str  # escalation | wide-read | sudo | root-wildcard | policy-syntax | admin-allowance
    path: str  # the rule's path as written; "" for the whole policy
    message: str
    fix: str
    family: str | None = None
    severity: str = "error"  # error | warning | allowance


def fold_reason(reason: Any) -> str:
    """A reason on one printable line (no control characters or escape sequences reach a terminal)."""
    text = " ".join(str(reason).split()) if isinstance(reason, str) else ""
    return "".join(ch for ch in text if ch.isprintable())[:MAX_REASON]


def clean_reason(reason: Any, who: str = "policy", field: str = "admin.reason") -> str:
    """The admin allowance reason on one printable line, or ConfigError when it does not explain anything."""
    text = fold_reason(reason)
    if len(text) < MIN_REASON:
        raise ConfigError(
            who,
            field,
            f"a break-glass admin policy needs a reason of at least {MIN_REASON} characters, got {reason!r}",
            'write e.g. admin: {reason: "break-glass: operators only, token kept offline"}',
        )
    return text


def admin_marker(reason: str) -> str:
    """The first line of a rendered admin policy's HCL, so the CrossGuard pack sees the allowance too."""
    return f"{ADMIN_MARKER}{clean_reason(reason)}\n"


def admin_reason(text: str) -> str | None:
    """The allowance reason carried by policy text (its leading comment lines), if any."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(ADMIN_MARKER.strip()):
            reason = stripped[len(ADMIN_MARKER.strip()) :].strip()
            return reason if len(reason) >= MIN_REASON else None
        if stripped and not stripped.startswith(("#", "//")):
            return None
    return None


def _ordered(caps: Iterable[str]) -> str:
    have = set(caps)
    return ", ".join(c for c in acl.VAULT_CAPABILITIES if c in have)


def _varies(pattern: Pattern, index: int) -> bool:
    """Whether paths matching `pattern` can hold more than one value at segment `index`."""
    segs = pattern.segments
    if pattern.glob and index >= len(segs) - 1:
        return True
    if index >= len(segs):
        return False
    return segs[index].kind in (PLUS, PREFIX)


def _wide(pattern: Pattern, mounts: Mounts) -> bool:
    """A read over `+` or `*` at the mount segment, or at the team segment of a KV store."""
    first = pattern.segments[0]
    if _varies(pattern, 0):
        return True
    if first.kind == TEMPLATE or first.text in SYSTEM_ROOTS:
        return False
    kind = mounts.types.get(first.text)
    second = pattern.segments[1] if len(pattern.segments) > 1 else None
    kv2_shape = second is not None and second.kind == LIT and second.text in ("data", "metadata")
    if kind == "kv-v2" or (kind is None and kv2_shape):
        return _varies(pattern, 2)
    if kind in (None, "kv-v1"):
        return _varies(pattern, 1)
    return False


def _is_wildcard(pattern: Pattern) -> bool:
    return pattern.glob or any(s.kind == PLUS for s in pattern.segments)


@dataclass(frozen=True)
class _Reach:
    """A part of a family a rule's pattern reaches, before the policy is consulted."""

    family: Family
    inter: Pattern
    witness: str


class _FamilyIndex:
    """The families of one set of mounts, their patterns bucketed by first segment.

    Two patterns whose first segments are different literals share no path (`intersect` stops at the first
    segment), so a rule starting with a literal is intersected only with the family patterns starting with
    that literal or with one that varies (`+`, a template, a first-segment glob); any other rule with all of
    them. Candidates keep the families' order, so the findings (and which pattern of a family is reported)
    are the same as intersecting every pattern. What a rule path reaches depends on nothing but the path
    and the mounts: it is kept per distinct path (policies repeat their paths).
    """

    MAX_PATHS = 50_000  # distinct rule paths remembered; then start over (bounded memory)

    def __init__(self, mounts: Mounts) -> None:
        self.mounts = mounts
        entries = [(family, text, fam) for family in mounts.families() for text, fam in family.parsed()]
        self.everything = entries
        varying = [i for i, (_, _, fam) in enumerate(entries) if head(fam) is None]
        heads: dict[str, list[int]] = {}
        for i, (_, _, fam) in enumerate(entries):
            first = head(fam)
            if first is not None:
                heads.setdefault(first, []).append(i)
        self.varying = [entries[i] for i in varying]
        self.by_head = {h: [entries[i] for i in sorted(varying + idx)] for h, idx in heads.items()}
        self.reached: dict[str, tuple[_Reach, ...]] = {}

    def reach(self, norm: str, pattern: Pattern) -> tuple[_Reach, ...]:
        """The non-empty intersections of `pattern` (parsed from `norm`) with the family patterns, minus
        those a family excludes, waives as the holder's own object, or does not apply to on that mount."""
        found = self.reached.get(norm)
        if found is not None:
            return found
        first_text = head(pattern)
        candidates = self.everything if first_text is None else self.by_head.get(first_text, self.varying)
        types = self.mounts.types
        out: list[_Reach] = []
        for family, text, fam_pattern in candidates:
            inter = intersect(pattern, fam_pattern)
            if inter is None or any(covers(parse(e), inter) for e in family.excludes):
                continue
            if text in family.self_ok and inter.templated:
                continue  # the holder's own object, chosen by Vault
            first = inter.segments[0]
            if family.not_on and first.kind == LIT and types.get(first.text) in family.not_on:
                continue
            out.append(_Reach(family, inter, witness(inter)))
        if len(self.reached) >= self.MAX_PATHS:
            self.reached.clear()
        self.reached[norm] = found = tuple(out)
        return found


_INDEXES: dict[Any, _FamilyIndex] = {}
_MAX_INDEXES = 16


def _index(mounts: Mounts) -> _FamilyIndex:
    """The family index for `mounts`, shared by every policy analysed against the same declared mounts."""
    try:
        key = (type(mounts), tuple(mounts.types.items()))
        index = _INDEXES.get(key)
    except TypeError:  # unhashable mount types: no sharing
        return _FamilyIndex(mounts)
    if index is None:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.clear()
        index = _INDEXES[key] = _FamilyIndex(mounts)
    return index


def _escalations(
    path: str, norm: str, pattern: Pattern, caps: frozenset[str], evaluate: Any, index: _FamilyIndex
) -> list[Issue]:
    out: list[Issue] = []
    seen: set[str] = set()
    for reach in index.reach(norm, pattern):
        family = reach.family
        if family.id in seen:
            continue  # one finding per family: its first reached pattern the policy grants
        effective = caps & evaluate(reach.witness)
        dangerous = effective & family.caps
        if family.sudo:
            dangerous = dangerous | {"sudo"} if dangerous and "sudo" in effective else frozenset()
        if not dangerous:
            continue
        seen.add(family.id)
        inter = reach.inter
        kind = "wildcard " if _is_wildcard(pattern) else ""
        where = index.mounts.describe(inter.segments[0].text)
        out.append(
            Issue(
                "escalation",
                path,
                f"{kind}grants {_ordered(dangerous)} on {path}, which reaches {inter.show()} "
                f"({family.title}{where}): a holder {family.impact} (privilege escalation)",
                f"{family.fix}; a break-glass policy declares it with admin: {{reason: ...}}",
                family.id,
            )
        )
    return out


def _rule_issues(
    path: str, rule: acl.PathRule, evaluate: Any, index: _FamilyIndex, skip: set[str]
) -> list[Issue]:
    mounts = index.mounts
    caps = frozenset(rule.capabilities)
    if not caps or "deny" in caps:
        return []  # deny rules only subtract, through `evaluate`
    out: list[Issue] = []
    norm = rule.path
    if "sudo" in caps and "sudo" not in skip:
        out.append(
            Issue(
                "sudo",
                path,
                "grants sudo (root-protected endpoints)",
                "drop sudo, or add `lint_ignore: [sudo]` to an operator policy that needs it",
            )
        )
    root = norm in ("*", "+", "+/*") or (
        norm.startswith("+/") and norm.count("/") == 1 and norm.endswith("*")
    )
    if root and "root-wildcard" not in skip:
        out.append(
            Issue(
                "root-wildcard",
                path,
                "root-level wildcard grants every path in Vault",
                "grant the specific mounts the identity needs, e.g. kv/data/<team>/*",
            )
        )
    pattern = parse(norm)
    out.extend(_escalations(path, norm, pattern, caps, evaluate, index))
    reads = caps & READS & evaluate(witness(pattern))
    if reads and not root and "wide-read" not in skip and _wide(pattern, mounts):
        out.append(
            Issue(
                "wide-read",
                path,
                f"grants {_ordered(reads)} on {path}, which spans several teams' secrets"
                f"{mounts.describe(pattern.segments[0].text)}: a holder reads beyond its own team",
                "scope the rule to one team, e.g. <kv>/data/<team>/*, or per identity with a template such "
                "as <kv>/data/{{identity.entity.metadata.team}}/*",
                "wide-read",
                "warning",
            )
        )
    return out


def analyze(
    rules: Mapping[str, Any],
    *,
    mounts: Mounts = NO_MOUNTS,
    ignore: Iterable[str] = (),
    admin: str | None = None,
) -> list[Issue]:
    """Every finding for one policy (path -> rule). With `admin` (a reason), the findings a break-glass
    policy is expected to have become one `admin-allowance` issue that names them."""
    if not isinstance(rules, Mapping):
        return [
            Issue("policy-syntax", "", "rules must be a mapping of path -> capabilities", "fix the rules")
        ]
    if len(rules) > MAX_RULES:
        return [Issue("policy-syntax", "", f"{len(rules)} rules (at most {MAX_RULES})", "split the policy")]
    long = next((p for p in rules if isinstance(p, str) and len(p) > MAX_PATH), None)
    if long is not None:
        return [Issue("policy-syntax", long[:40], f"a path longer than {MAX_PATH}", "shorten the path")]
    try:
        normalized = acl.normalize_policy("policy", dict(rules))
    except ConfigError as exc:
        return [Issue("policy-syntax", "", f"{exc.field}: {exc.problem}", exc.fix or "fix the rule")]
    evaluate = acl.normalized_evaluator([normalized])
    skip = set(ignore)
    index = _index(mounts)
    issues: list[Issue] = []
    for path, rule in zip(rules, normalized, strict=True):
        issues.extend(_rule_issues(str(path), rule, evaluate, index, skip))
    if admin is None:
        return issues
    admin = fold_reason(admin) or "(none given)"
    waived = sorted({i.family or i.rule for i in issues})
    summary = f"{len(issues)} finding(s) allowed: {', '.join(waived)}" if issues else "no finding to allow"
    return [
        Issue(
            "admin-allowance",
            "",
            f"break-glass admin policy (reason: {admin}): {summary}",
            "keep its holders few and its tokens short-lived; audit every use",
            None,
            "allowance",
        )
    ]
