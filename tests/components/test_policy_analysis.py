"""vaultconf.policy_analysis: pattern intersection, every family, deny subtraction, templates, allowances."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaultconf import acl
from vaultconf.policy_analysis import MAX_RULES, Mounts, admin_marker, admin_reason, analyze
from vaultconf.policy_analysis.patterns import covers, intersect, parse, witness


def families(rules: dict[str, object], **kw: object) -> set[str | None]:
    return {i.family for i in analyze(rules, **kw) if i.rule == "escalation"}  # type: ignore[arg-type]


# --- patterns ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("sys/*", "sys/policies/acl/+", "sys/policies/acl/+"),
        ("sys/policies/acl/reader", "sys/policies/acl/+", "sys/policies/acl/reader"),
        ("sys/pol*", "sys/policies/acl/+", "sys/policies/acl/+"),
        ("sys/policies/acl/+", "sys/policy/+", None),
        ("+/roles/*", "pki/roles/web", "pki/roles/web"),
        ("a/b*", "a/bc*", "a/bc*"),
        ("a/b*", "a/c*", None),
        ("a/+/c", "a/b", None),  # different lengths, no glob
        ("sys/*", "sys", None),  # "sys" does not start with "sys/"
        ("a/+", "a/x*", "a/x<…>"),  # one segment starting with x
        (
            "auth/userpass/users/{{identity.entity.name}}",
            "auth/+/users/+",
            "auth/userpass/users/{{identity.entity.name}}",
        ),
        ("auth/{{identity.entity.name}}/x", "auth/userpass/x", None),  # a template is never assumed a literal
        ("*", "+/config", "+/config"),
    ],
)
def test_intersection(a: str, b: str, expected: str | None) -> None:
    for x, y in ((a, b), (b, a)):  # symmetric
        got = intersect(parse(x), parse(y))
        assert (got.show() if got else None) == expected, (x, y)


def test_covers_and_witness() -> None:
    assert covers(parse("sys/*"), parse("sys/config/+"))
    assert not covers(parse("sys/*"), parse("+/config"))
    assert covers(parse("auth/+/role/+/secret-id/lookup"), parse("auth/approle/role/x/secret-id/lookup"))
    assert not covers(parse("a/b"), parse("a/b*"))
    assert witness(parse("sys/policies/acl/+")).startswith("sys/policies/acl/vaultconf-any")
    assert witness(parse("sys/*")) == "sys/vaultconf-any"


# --- the issue's examples: each passed validate with 0 findings before -------------------------------------

ISSUE_EXAMPLES = {
    "sys/policies/acl/billing-reader": ("update", "acl-policies"),
    "auth/userpass/users/+/password": ("update", "userpass-users"),
    "auth/approle/role/+/secret-id": ("update", "auth-roles"),
    "auth/token/roles/deployer": ("update", "token-creation"),
    "identity/group/name/+": ("update", "identity"),
    "auth/kubernetes/config": ("update", "auth-config"),
    "sys/mounts/x": ("update", "secrets-engines"),
    "pki-int/roles/internal": ("update", "secrets-engine-config"),
    "aws/roles/app-s3": ("update", "secrets-engine-config"),
}


@pytest.mark.parametrize("path", sorted(ISSUE_EXAMPLES))
def test_issue_examples_are_escalations(path: str) -> None:
    cap, family = ISSUE_EXAMPLES[path]
    issues = analyze({path: [cap]})
    assert [(i.rule, i.family, i.severity) for i in issues] == [("escalation", family, "error")]
    assert path in issues[0].message and "privilege escalation" in issues[0].message
    assert issues[0].fix


def test_wide_read_is_a_warning() -> None:
    for path in ("+/data/*", "apps/data/*", "apps/data/+/db", "apps/*", "secret/*", "+/creds/x"):
        issues = analyze({path: ["read"]})
        assert [(i.rule, i.severity) for i in issues] == [("wide-read", "warning")], path
    # one team, a per-identity template, a declared non-KV mount: not wide
    kv = Mounts.of([("apps", "kv-v2")])
    for path in ("apps/data/billing/*", "apps/data/{{identity.entity.metadata.team}}/*", "apps/+/billing/*"):
        assert analyze({path: ["read", "list"]}, mounts=kv) == [], path
    assert analyze({"apps/+/billing/*": ["read"]})  # mount unknown: "+" may be a KV v1 team segment
    assert analyze({"aws/*": ["read"]}, mounts=Mounts.of([("aws", "aws")])) == []


# --- every family, by exact path and by generic shape ------------------------------------------------------

DANGEROUS = [
    ("sys/policy/ops", ["update"], "acl-policies"),
    ("sys/auth/oidc", ["create", "sudo"], "auth-methods"),
    ("sys/auth/+/tune", ["update", "sudo"], "auth-methods"),
    ("sys/mounts/kv2", ["create"], "secrets-engines"),
    ("sys/mounts/*", ["delete"], "secrets-engines"),
    ("sys/audit/file", ["update", "sudo"], "audit-devices"),
    ("sys/plugins/catalog/secret/x", ["update", "sudo"], "plugins"),
    ("sys/raw/*", ["update", "sudo"], "root-operations"),
    ("sys/raw/core/*", ["read", "list", "sudo"], "root-operations"),  # decrypted storage, below every ACL
    ("sys/remount", ["update", "sudo"], "secrets-engines"),
    ("sys/seal", ["update", "sudo"], "root-operations"),
    ("sys/generate-root/attempt", ["update"], "root-operations"),
    ("sys/rekey/init", ["update"], "root-operations"),
    ("sys/leases/revoke-prefix/*", ["update", "sudo"], "lease-revocation"),
    ("sys/leases/revoke-force/aws", ["update", "sudo"], "lease-revocation"),
    ("auth/userpass/users/+", ["create"], "userpass-users"),
    ("auth/userpass/users/bob/policies", ["update"], "userpass-users"),
    ("auth/ldap/users/*", ["update"], "userpass-users"),
    ("auth/userpass/users/{{identity.entity.aliases.auth_userpass_1.name}}", ["update"], "userpass-users"),
    ("auth/approle/role/+", ["create"], "auth-roles"),
    ("auth/approle/role/deployer/role-id", ["update"], "auth-roles"),
    ("auth/approle/role/+/custom-secret-id", ["update"], "auth-roles"),
    ("auth/kubernetes/role/+", ["update"], "auth-roles"),
    ("auth/jwt/role/ci", ["create", "update"], "auth-roles"),
    ("auth/+/role/*", ["update"], "auth-roles"),
    ("auth/ldap/groups/admins", ["update"], "auth-roles"),
    ("auth/jwt/config", ["update"], "auth-config"),
    ("auth/+/config", ["update"], "auth-config"),
    ("auth/token/create-orphan", ["update"], "token-creation"),
    ("auth/token/create/ops", ["update"], "token-creation"),  # the role decides the policies
    ("auth/token/roles/*", ["create"], "token-creation"),
    ("auth/token/create", ["update", "sudo"], "token-creation-sudo"),
    ("identity/entity", ["update"], "identity"),
    ("identity/entity/id/{{identity.entity.id}}", ["update"], "identity"),
    ("identity/entity-alias/id/+", ["update"], "identity"),
    ("identity/group-alias", ["create"], "identity"),
    ("identity/*", ["update"], "identity"),
    ("pki/root/generate/internal", ["update"], "secrets-engine-config"),
    ("pki/root/sign-intermediate", ["update"], "secrets-engine-config"),
    ("pki/intermediate/set-signed", ["update"], "secrets-engine-config"),
    ("pki/config/urls", ["update"], "secrets-engine-config"),
    ("pki/sign-verbatim/x", ["update"], "secrets-engine-config"),
    ("aws/config/root", ["update"], "secrets-engine-config"),
    ("database/config/postgres", ["update"], "secrets-engine-config"),
    ("database/static-roles/+", ["create"], "secrets-engine-config"),
    ("+/roles/+", ["update"], "secrets-engine-config"),
    ("ssh/roles/*", ["patch"], "secrets-engine-config"),
]


@pytest.mark.parametrize(("path", "caps", "family"), DANGEROUS, ids=[d[0] for d in DANGEROUS])
def test_dangerous(path: str, caps: list[str], family: str) -> None:
    assert family in families({path: caps})


SAFE = [
    ("sys/policies/acl/reader", ["read"]),
    ("sys/policies/acl", ["list"]),
    ("sys/auth/oidc", ["update"]),  # no sudo: Vault refuses (root-protected path)
    ("sys/audit/file", ["update"]),
    ("sys/leases/revoke-force/x", ["update"]),
    ("sys/leases/revoke", ["update"]),
    ("sys/remount", ["update"]),  # no sudo: Vault refuses
    ("sys/raw/core/*", ["read"]),
    ("sys/leases/renew", ["update"]),
    ("sys/mounts", ["read"]),
    ("sys/capabilities-self", ["update"]),
    ("auth/userpass/users/{{identity.entity.aliases.auth_userpass_1.name}}/password", ["update"]),
    ("auth/userpass/users/+", ["read", "list"]),
    ("auth/approle/role/+/secret-id/lookup", ["update"]),
    ("auth/approle/role/+/role-id", ["read"]),
    ("auth/approle/login", ["update"]),
    ("auth/token/create", ["update"]),  # a child token: a subset of the caller's own policies
    ("auth/token/renew-self", ["update"]),
    ("auth/token/lookup-self", ["read"]),
    ("identity/entity/id/{{identity.entity.id}}", ["read"]),
    ("identity/oidc/token/+", ["read"]),
    ("pki/issue/web", ["update"]),
    ("pki/sign/web", ["update"]),
    ("pki/roles/web", ["read"]),
    ("aws/creds/app", ["read"]),
    ("aws/sts/app", ["update"]),
    ("database/creds/readonly", ["read"]),
    ("apps/data/billing/*", ["create", "read", "update", "patch", "delete", "list"]),
    ("apps/metadata/billing/*", ["read", "list", "delete"]),
    ("sys/policies/acl/*", ["deny"]),
]


@pytest.mark.parametrize(("path", "caps"), SAFE, ids=[s[0] for s in SAFE])
def test_safe_look_alikes(path: str, caps: list[str]) -> None:
    assert [i for i in analyze({path: caps}) if i.severity == "error"] == []


def test_deny_and_narrower_rules_subtract() -> None:
    assert "acl-policies" not in families({"sys/policies/acl/*": ["update"], "sys/policies/acl/+": ["deny"]})
    # the legacy path stays open: sys/* still reaches it
    assert "acl-policies" in families({"sys/*": ["update"], "sys/policies/acl/*": ["deny"]})
    assert "acl-policies" not in families(
        {"sys/*": ["update"], "sys/policies/*": ["deny"], "sys/policy/*": ["read"]}
    )
    # a deny on one user leaves every other user's password open
    assert "userpass-users" in families(
        {"auth/userpass/users/+/password": ["update"], "auth/userpass/users/admin/password": ["deny"]}
    )


def test_declared_pki_mount_adds_its_keys() -> None:
    rules = {"pki-int/keys/import": ["update"]}
    assert families(rules) == set()
    assert families(rules, mounts=Mounts.of([("pki-int", "pki")])) == {"secrets-engine-config"}
    message = analyze({"pki-int/roles/x": ["update"]}, mounts=Mounts.of([("pki-int", "pki")]))[0].message
    assert "pki mount 'pki-int'" in message


def test_ignore_and_admin_allowance() -> None:
    bad = {"sys/*": ["update", "sudo"], "+/data/*": ["read"]}
    issues = analyze(bad, ignore=["sudo", "wide-read"])
    assert {i.rule for i in issues} == {"escalation"}  # escalations are never ignorable by id
    allowed = analyze(bad, admin="break-glass: operators only, token offline")
    assert [(i.rule, i.severity) for i in allowed] == [("admin-allowance", "allowance")]
    assert "auth-methods" in allowed[0].message and "operators only" in allowed[0].message
    text = admin_marker("  two\nlines   of reason  ") + 'path "sys/*" {}\n'
    assert admin_reason(text) == "two lines of reason"
    assert admin_reason('path "a" {}\n' + admin_marker("too late to count")) is None


def test_malformed_and_bounded() -> None:
    assert [i.rule for i in analyze({"a/*/b": ["read"]})] == ["policy-syntax"]
    assert [i.rule for i in analyze({"a": ["fly"]})] == ["policy-syntax"]
    assert [i.rule for i in analyze({"x/" * 600: ["read"]})] == ["policy-syntax"]
    assert [i.rule for i in analyze({f"a/{n}": ["read"] for n in range(MAX_RULES + 1)})] == ["policy-syntax"]
    # the biggest accepted policy, every rule a wildcard reaching several families, stays fast
    hostile = {f"+/+/{n}/*": ["update", "sudo"] for n in range(MAX_RULES)}
    start = time.monotonic()
    assert analyze(hostile)
    assert time.monotonic() - start < 10


# --- certificates: a workload's grant binds its own names --------------------------------------------------

ISSUE = "pki-int/issue/internal"


def test_certificate_bindings() -> None:
    from vaultconf.policy_analysis.certificates import certificate_problems

    mine = {"common_name": "a.internal.example"}

    def grant(**allowed: list[str]) -> list[dict[str, object]]:
        rule: dict[str, object] = {"capabilities": ["update"]}
        if allowed:
            rule["allowed_parameters"] = allowed
        return [{ISSUE: rule}]

    assert certificate_problems(grant(common_name=["a.internal.example"]), ISSUE, mine) == []
    open_names = certificate_problems(grant(), ISSUE, mine)
    assert len(open_names) == 1 and "common_name, alt_names open" in open_names[0][0]
    assert "allowed_parameters: {common_name: [a.internal.example]}" in open_names[0][1]
    # a glob value, or "*": [] next to a bound common_name, leaves names open
    assert "common_name open" in certificate_problems(grant(common_name=["*.example"]), ISSUE, mine)[0][0]
    star = certificate_problems(grant(common_name=["a.internal.example"], **{"*": []}), ISSUE, mine)
    assert "alt_names open" in star[0][0]
    bound_alt = grant(common_name=["a.internal.example"], alt_names=["a2.internal.example"])
    assert certificate_problems(bound_alt, ISSUE, {**mine, "alt_names": "a2.internal.example"}) == []
    # bound to someone else's name: Vault would refuse this workload's own request
    wrong = certificate_problems(grant(common_name=["b.internal.example"]), ISSUE, mine)
    assert len(wrong) == 1 and "Vault will refuse" in wrong[0][0]
    # a parameter the binding does not list is refused too
    ttl = certificate_problems(grant(common_name=["a.internal.example"]), ISSUE, {**mine, "ttl": "1h"})
    assert "ttl" in ttl[0][0]
    # the rule Vault applies is the most specific one: a bound exact path beats an open glob
    both = [{"pki-int/issue/*": ["update"]}, {ISSUE: grant(common_name=["a.internal.example"])[0][ISSUE]}]
    assert certificate_problems(both, ISSUE, mine) == []


# --- the intersection agrees with Vault's own matching (vaultconf.acl), on random patterns ------------------

SEGMENTS = ["a", "b", "ab", "+"]


def _pattern(parts: list[str], glob: bool, tail: str) -> str:
    body = "/".join(parts)
    return f"{body}{'/' if body else ''}{tail}*" if glob else body


def _matches(pattern: str, path: str) -> bool:
    return "read" in acl.capabilities([{pattern: ["read"]}], path)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
    st.booleans(),
    st.sampled_from(["", "a"]),
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
    st.booleans(),
    st.sampled_from(["", "a"]),
)
def test_intersection_agrees_with_vaults_matching(
    p1: list[str], g1: bool, t1: str, p2: list[str], g2: bool, t2: str
) -> None:
    a, b = _pattern(p1, g1, t1), _pattern(p2, g2, t2)
    got = intersect(parse(a), parse(b))
    # every concrete path over a small alphabet, up to 5 segments: one both match means a non-empty meet
    words = ["a", "b", "ab", "aa", "x"]
    paths = ["/".join(p) for n in range(1, 6) for p in itertools.product(words, repeat=n)]
    both = [p for p in paths if _matches(a, p) and _matches(b, p)]
    if both:
        assert got is not None, (a, b, both[:3])
    if got is not None:
        w = witness(got)
        assert _matches(a, w) and _matches(b, w), (a, b, got.show(), w)
