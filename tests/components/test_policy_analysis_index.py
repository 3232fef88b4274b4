"""The first-segment buckets of vaultconf.policy_analysis skip only intersections that must be empty.

A rule is intersected only with the family patterns (and PKI issue targets) that start with its own first
segment or with a varying one. With `head` made to say "varies" for every pattern, every rule meets every
pattern, as before the buckets: the findings, their order and their messages must not change.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaultconf import policy_analysis
from vaultconf.policy_analysis import Mounts, analyze, certificates
from vaultconf.policy_analysis.patterns import head, parse

SEGMENTS = [
    "sys", "auth", "identity", "cubbyhole", "pki", "pki_int", "kv", "aws", "token", "users", "role", "roles",
    "config", "keys", "sign", "issue", "policies", "acl", "policy", "mounts", "audit", "raw", "entity",
    "create", "root", "issuer", "leases", "revoke-prefix", "seal", "plugins", "catalog", "userpass", "data",
    "password", "+", "{{identity.entity.id}}", "x{{identity.entity.name}}",
]  # fmt: skip
MOUNTS = [
    Mounts(),
    Mounts.of([("pki", "pki"), ("kv", "kv-v2"), ("aws", "aws")]),
    Mounts.of([("pki_int", "pki"), ("pki/int", "pki"), ("sys", "kv-v2"), ("kv", "kv-v1")]),
]


@st.composite
def paths(draw: Any) -> str:
    segments = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5))
    path = "/".join(segments)
    ending = draw(st.sampled_from(["", "", "/*", "*", "s*", "en*"]))
    if ending.endswith("*") and ending != "/*" and segments[-1] == "+":
        ending = "/*"  # `+*` is refused
    return path + ending


rules_strategy = st.dictionaries(
    paths(),
    st.lists(st.sampled_from(["create", "read", "update", "patch", "delete", "list", "sudo", "deny"]),
             max_size=3),
    min_size=1,
    max_size=6,
)


def _everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buckets off: every pattern varies, so every rule meets every pattern."""
    monkeypatch.setattr(policy_analysis, "head", lambda pattern: None)
    monkeypatch.setattr(certificates, "head", lambda pattern: None)
    monkeypatch.setattr(policy_analysis, "_INDEXES", {})
    certificates._issue_targets.cache_clear()


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy, which=st.integers(0, len(MOUNTS) - 1))
def test_the_buckets_change_no_finding(rules: dict[str, list[str]], which: int) -> None:
    mounts = MOUNTS[which]
    pki = [m for m, t in mounts.types.items() if t == "pki"]
    bucketed = analyze(rules, mounts=mounts), certificates.unbound_issue_grants(rules, pki)
    with pytest.MonkeyPatch.context() as patch:
        _everything(patch)
        exhaustive = analyze(rules, mounts=mounts), certificates.unbound_issue_grants(rules, pki)
    certificates._issue_targets.cache_clear()
    assert bucketed == exhaustive


def test_the_buckets_are_used_and_the_examples_still_escalate() -> None:
    # a sanity check that the property above compares something: literal heads are bucketed, the rest vary
    assert head(parse("sys/policy/+")) == "sys"
    assert head(parse("+/roles/*")) is None
    assert head(parse("s*")) is None
    assert head(parse("{{identity.entity.id}}/x")) is None
    mounts = MOUNTS[1]
    rules = {"sys/policy/+": ["update"], "pki/keys/*": ["create"], "s*": ["update", "sudo"]}
    found = analyze(rules, mounts=mounts)
    assert [(i.path, i.family) for i in found if i.rule == "escalation"][:3] == [
        ("sys/policy/+", "acl-policies"),
        ("pki/keys/*", "secrets-engine-config"),
        ("s*", "acl-policies"),
    ]
