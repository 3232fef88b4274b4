"""Vault ACL evaluation: the matching and precedence rules of vault/acl.go."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vaultconf.acl import VAULT_CAPABILITIES, allows, capabilities
from vaultconf.errors import ConfigError


def caps(policies: list[dict], path: str) -> set[str]:
    return set(capabilities(policies, path))


def test_exact_path_and_nothing_else() -> None:
    policies = [{"secret/foo": ["read"]}]
    assert caps(policies, "secret/foo") == {"read"}
    assert caps(policies, "secret/foo/bar") == {"deny"}
    assert caps(policies, "secret/fo") == {"deny"}


def test_no_match_is_deny() -> None:
    assert caps([{"kv/data/a": ["read"]}], "sys/mounts") == {"deny"}
    assert caps([], "anything") == {"deny"}


def test_trailing_glob_is_a_prefix_and_the_longest_prefix_wins() -> None:
    policies = [{"secret/*": ["read"], "secret/team-a/*": ["list"], "secret/team-a/db*": ["update"]}]
    assert caps(policies, "secret/x") == {"read"}
    assert caps(policies, "secret/team-a/x") == {"list"}
    assert caps(policies, "secret/team-a/db-prod") == {"update"}
    assert caps(policies, "secret/team-a/db") == {"update"}
    assert caps(policies, "secret/") == {"read"}  # the glob matches the empty rest too


def test_exact_beats_any_glob() -> None:
    policies = [{"secret/*": ["read", "list"], "secret/special": ["deny"]}]
    assert caps(policies, "secret/special") == {"deny"}
    assert caps(policies, "secret/special2") == {"read", "list"}


def test_plus_matches_exactly_one_segment() -> None:
    policies = [{"secret/+/config": ["read"]}]
    assert caps(policies, "secret/app/config") == {"read"}
    assert caps(policies, "secret/a/b/config") == {"deny"}
    assert caps(policies, "secret/app/config/x") == {"deny"}
    assert caps(policies, "secret/config") == {"deny"}


def test_plus_with_trailing_glob() -> None:
    policies = [{"secret/+/team*": ["read"]}]
    assert caps(policies, "secret/eu/team-a/db") == {"read"}
    assert caps(policies, "secret/eu/team") == {"read"}
    assert caps(policies, "secret/eu/other") == {"deny"}


def test_later_first_wildcard_wins() -> None:
    # Vault docs: "secret/+/bar/*" ... the rule whose first +/* comes later is more specific.
    policies = [{"secret/+/bar/baz": ["read"], "secret/foo/+/baz": ["update"]}]
    assert caps(policies, "secret/foo/bar/baz") == {"update"}
    # A prefix glob's "first wildcard" is its end: foo/a* beats foo/+ for foo/ab.
    policies = [{"foo/a*": ["read"], "foo/+": ["list"]}]
    assert caps(policies, "foo/ab") == {"read"}


def test_non_prefix_beats_prefix_at_the_same_position() -> None:
    assert caps([{"foo/+": ["read"], "foo/*": ["list"]}], "foo/bar") == {"read"}
    assert caps([{"foo/+/bar": ["read"], "foo/+/ba*": ["list"]}], "foo/x/bar") == {"read"}


def test_fewer_plus_segments_win() -> None:
    policies = [{"foo/bar/+/baz": ["read"], "foo/bar/+/+": ["list"]}]
    assert caps(policies, "foo/bar/x/baz") == {"read"}


def test_longer_pattern_wins() -> None:
    policies = [{"foo/+/bar/ba*": ["read"], "foo/+/bar/b*": ["list"]}]
    assert caps(policies, "foo/x/bar/baz") == {"read"}


def test_same_pattern_across_policies_is_unioned() -> None:
    policies = [{"kv/data/a/*": ["read"]}, {"kv/data/a/*": ["list", "update"]}]
    assert caps(policies, "kv/data/a/x") == {"read", "list", "update"}


def test_deny_wins_on_the_same_pattern_in_any_order() -> None:
    assert caps([{"kv/a": ["read"]}, {"kv/a": ["deny"]}], "kv/a") == {"deny"}
    assert caps([{"kv/a": ["deny"]}, {"kv/a": ["read"]}], "kv/a") == {"deny"}
    assert caps([{"kv/a": ["read", "deny"]}], "kv/a") == {"deny"}


def test_deny_on_a_less_specific_pattern_does_not_leak() -> None:
    # Only the winning pattern counts: a specific grant beats a broader deny.
    policies = [{"kv/*": ["deny"]}, {"kv/data/app": ["read"]}]
    assert caps(policies, "kv/data/app") == {"read"}
    assert caps(policies, "kv/data/other") == {"deny"}


def test_list_fallback_and_leading_slash() -> None:
    policies = [{"/kv/metadata/app": {"capabilities": ["list"]}}]
    assert caps(policies, "kv/metadata/app/") == {"list"}
    assert caps(policies, "/kv/metadata/app") == {"list"}


def test_parameters_do_not_change_capabilities() -> None:
    rule = {"capabilities": ["update"], "allowed_parameters": {"ttl": ["1h"]}, "required_parameters": ["ttl"]}
    assert caps([{"pki/issue/web": rule}], "pki/issue/web") == {"update"}


def test_allows() -> None:
    policies = [{"kv/data/a": ["read", "list"]}]
    assert allows(policies, "kv/data/a", "read")
    assert not allows(policies, "kv/data/a", "update")
    assert not allows(policies, "kv/data/b", "deny")  # deny is never "allowed"
    with pytest.raises(ConfigError, match="unknown capability 'reed'"):
        allows(policies, "kv/data/a", "reed")


def test_capability_set_is_vaults() -> None:
    assert set(VAULT_CAPABILITIES) == {
        "create",
        "read",
        "update",
        "patch",
        "delete",
        "list",
        "sudo",
        "deny",
        "subscribe",
        "recover",
    }


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"kv/a": ["reed"]}, "unknown capability 'reed'"),
        ({"kv/+*": ["read"]}, r"'\+\*'"),
        ({"kv/*/x": ["read"]}, "before the end"),
        ({"": ["read"]}, "is empty"),
        ({"kv/a": "read"}, "must be a list"),
        ({"kv/a": {"capabilities": ["read"], "allowed": {}}}, "unknown field 'allowed'"),
        ({"kv/a": {"allowed_parameters": {}}}, "missing"),
    ],
)
def test_bad_rules_raise_one_clear_error(policy: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        capabilities([policy], "kv/a")


def test_a_single_policy_not_wrapped_in_a_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="wrap a single policy in a list"):
        capabilities({"kv/a": ["read"]}, "kv/a")  # type: ignore[arg-type]


segment = st.sampled_from(["a", "b", "ab", "team-a"])
paths = st.lists(segment, min_size=1, max_size=4).map("/".join)
cap_lists = st.lists(st.sampled_from([c for c in VAULT_CAPABILITIES if c != "deny"]), min_size=1, max_size=3)


@given(path=paths, grants=cap_lists)
def test_glob_star_grants_everything_below(path: str, grants: list[str]) -> None:
    assert caps([{"*": grants}], path) == set(grants)


@given(path=paths, grants=cap_lists, order=st.booleans())
def test_deny_on_the_exact_path_always_wins(path: str, grants: list[str], order: bool) -> None:
    policies = [{path: grants, "*": grants}, {path: ["deny"]}]
    assert caps(policies if order else policies[::-1], path) == {"deny"}


@given(path=paths, grants=cap_lists)
def test_exact_rule_wins_over_wildcards(path: str, grants: list[str]) -> None:
    wild = "/".join("+" for _ in path.split("/"))
    assert caps([{wild: ["sudo"], path: grants, "*": ["list"]}], path) == set(grants)
