"""Vault ACL path patterns as sets of paths, and their intersection.

A pattern is split into segments. Each segment is one of:

* a literal (`sys`, `acl`);
* `+`: any single segment (Vault's segment wildcard);
* a template (`{{identity.entity.id}}`, or a segment holding one): one value Vault fills in per token, so it
  intersects `+` but is never assumed equal to a literal (Vault chooses it, not the holder);
* a prefix (only in intersections): one segment that starts with a given text.

A trailing `*` makes the last segment a prefix glob: it matches any text starting with that segment's text,
`/` included, so `sys/*` is the segment `""`-prefix glob after `sys`. This follows Vault's matching
(vault/policy.go and vault/acl.go: `+` is a whole segment, `*` only at the end).

Deciding whether a rule reaches a sensitive family is then a question about sets: is the intersection of
the rule's pattern and the family's pattern non-empty? No probe names are involved.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

LIT, PLUS, TEMPLATE, PREFIX = "lit", "plus", "template", "prefix"


@dataclass(frozen=True)
class Segment:
    kind: str
    text: str = ""

    def show(self) -> str:
        if self.kind == PLUS:
            return "+"
        if self.kind == PREFIX:
            return f"{self.text}<…>"
        return self.text


@dataclass(frozen=True)
class Pattern:
    """Segments; with `glob`, the last segment's text is a prefix and anything may follow it."""

    segments: tuple[Segment, ...]
    glob: bool = False

    def show(self) -> str:
        text = "/".join(s.show() for s in self.segments)
        return text + "*" if self.glob else text

    @property
    def templated(self) -> bool:
        return any(s.kind == TEMPLATE for s in self.segments)


def _segment(text: str) -> Segment:
    if text == "+":
        return Segment(PLUS)
    if "{{" in text and "}}" in text:
        return Segment(TEMPLATE, text)
    return Segment(LIT, text)


@functools.lru_cache(maxsize=8192)  # Patterns are frozen: the family tables are re-parsed per rule otherwise
def parse(path: str) -> Pattern:
    """A pattern from a normalized policy path (no leading '/'; `*` only at the end)."""
    glob = path.endswith("*")
    body = path[:-1] if glob else path
    parts = body.split("/")
    segments = [_segment(p) for p in parts]
    if glob:  # the glob's own segment is a text prefix, even if it reads "+" ("a/+*" is rejected earlier)
        segments[-1] = Segment(LIT, parts[-1])
    return Pattern(tuple(segments), glob)


def head(pattern: Pattern) -> str | None:
    """The literal first segment of every path `pattern` matches, or None when it varies (`+`, a template,
    or a glob in the first segment). Patterns with different heads never intersect (`intersect` stops at
    the first segment): callers use it to skip intersections that must be empty."""
    first = pattern.segments[0]
    if first.kind != LIT or (pattern.glob and len(pattern.segments) == 1):
        return None
    return first.text


def _meet(a: Segment, b: Segment) -> Segment | None:
    """Both single segments: the segments matching both, or None."""
    if a.kind == PLUS:
        return b
    if b.kind == PLUS:
        return a
    if a.kind == TEMPLATE or b.kind == TEMPLATE:
        # two templates may render equal; a template is never assumed to equal a literal or a prefix
        return a if a.kind == b.kind == TEMPLATE else None
    if a.kind == LIT and b.kind == LIT:
        return a if a.text == b.text else None
    if a.kind == PREFIX and b.kind == PREFIX:
        longer, shorter = (a, b) if len(a.text) >= len(b.text) else (b, a)
        return longer if longer.text.startswith(shorter.text) else None
    lit, pre = (a, b) if a.kind == LIT else (b, a)
    return lit if lit.text.startswith(pre.text) else None


def _starting_with(seg: Segment, prefix: str) -> Segment | None:
    """The part of `seg` (one segment) whose text starts with `prefix`."""
    if not prefix:
        return seg
    if seg.kind == PLUS:
        return Segment(PREFIX, prefix)
    return _meet(seg, Segment(PREFIX, prefix))


def _glob_tail(glob_prefix: str, rest: tuple[Segment, ...], rest_glob: bool) -> Pattern | None:
    """Segments of the other pattern from the glob's position on, restricted to start with `glob_prefix`."""
    first = rest[0]
    if rest_glob and len(rest) == 1:  # both globs at the same segment: the longer prefix wins
        p, q = glob_prefix, first.text
        if not (p.startswith(q) or q.startswith(p)):
            return None
        return Pattern((Segment(LIT, max(p, q, key=len)),), True)
    met = _starting_with(first, glob_prefix)
    return None if met is None else Pattern((met, *rest[1:]), rest_glob)


def intersect(a: Pattern, b: Pattern) -> Pattern | None:
    """The pattern of paths both match, or None when they share no path."""
    out: list[Segment] = []
    for i in range(max(len(a.segments), len(b.segments))):
        a_glob_here = a.glob and i == len(a.segments) - 1
        b_glob_here = b.glob and i == len(b.segments) - 1
        if a_glob_here or b_glob_here:
            globbed, other = (a, b) if a_glob_here else (b, a)
            if i >= len(other.segments):
                return None
            tail = _glob_tail(globbed.segments[i].text, other.segments[i:], other.glob)
            return None if tail is None else Pattern((*out, *tail.segments), tail.glob)
        if i >= len(a.segments) or i >= len(b.segments):
            return None  # different lengths and no glob to absorb the difference
        met = _meet(a.segments[i], b.segments[i])
        if met is None:
            return None
        out.append(met)
    return Pattern(tuple(out), False)


def _covers_segment(outer: Segment, inner: Segment) -> bool:
    if outer.kind == PLUS:
        return True
    if outer.kind == LIT:
        return inner.kind == LIT and inner.text == outer.text
    if outer.kind == TEMPLATE:
        return inner == outer
    return inner.kind in (LIT, PREFIX) and inner.text.startswith(outer.text)  # outer is a prefix


def covers(outer: Pattern, inner: Pattern) -> bool:
    """Whether every path `inner` matches is matched by `outer` (used for a family's exclusions)."""
    for i, out_seg in enumerate(outer.segments):
        if i >= len(inner.segments):
            return False  # inner paths end before outer's do
        seg = inner.segments[i]
        if outer.glob and i == len(outer.segments) - 1:
            prefix = out_seg.text
            return not prefix or (seg.kind in (LIT, PREFIX) and seg.text.startswith(prefix))
        if inner.glob and i == len(inner.segments) - 1:
            return False  # inner reaches deeper paths than a non-glob outer
        if not _covers_segment(out_seg, seg):
            return False
    return len(inner.segments) == len(outer.segments) and not inner.glob


def witness(pattern: Pattern) -> str:
    """One concrete path the pattern matches, with names no real object is likely to carry.

    Evaluated against the whole policy, it tells whether a more specific rule (a deny, or a narrower grant)
    takes this part of the intersection away. Templates stay as written: the rule that carries one then
    matches its own witness, as it matches the rendered value in Vault.
    """
    parts = []
    for i, seg in enumerate(pattern.segments):
        if seg.kind == PLUS:
            parts.append(f"vaultconf-any-{i}")
        elif seg.kind == PREFIX:
            parts.append(f"{seg.text}vaultconf-any-{i}")
        else:
            parts.append(seg.text)
    path = "/".join(parts)
    return path + "vaultconf-any" if pattern.glob else path
