"""TTL parsing and names."""

from __future__ import annotations

import pytest
from vaultconf import names
from vaultconf.errors import ConfigError
from vaultconf.ttl import check_max, parse_ttl


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0),
        (3600, 3600),
        ("3600", 3600),
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        (" 1H ", 3600),
    ],
)
def test_parse_ttl(value: object, seconds: int) -> None:
    assert parse_ttl(value, "C", "ttl") == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "negative"),
        ("-5m", "negative"),
        ("-5", "negative"),
        ("5 minutes", "not a duration"),
        ("1h-", "not a duration"),
        ("", "not a duration"),
        (True, "not a duration"),
        (1.5, "not a duration"),
        ("1y", "not a duration"),
    ],
)
def test_parse_ttl_errors(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_ttl(value, "User 'a'", "token_ttl")
    assert str(err.value).startswith("User 'a': field 'token_ttl': ")


def test_ttl_above_max() -> None:
    check_max(60, 120, "C", "ttl")
    check_max(60, None, "C", "ttl")
    with pytest.raises(ConfigError, match="exceeds max_ttl"):
        check_max(121, 120, "C", "ttl")


@pytest.mark.parametrize("good", ["team-a", "a", "a1", "x" * 63])
def test_dns_label_ok(good: str) -> None:
    assert names.dns_label(good, "C", "namespace") == good


@pytest.mark.parametrize("bad", ["Team-A", "-a", "a-", "a_b", "a.b", "x" * 64, "", None, 5])
def test_dns_label_bad(bad: object) -> None:
    with pytest.raises(ConfigError, match="DNS-1123 label"):
        names.dns_label(bad, "C", "namespace")


def test_k8s_name_sanitises_and_stays_unique() -> None:
    assert names.k8s_name("web") == "web"
    a, b = names.k8s_name("My_App"), names.k8s_name("my-app")
    assert a != b and names.dns_label(a, "C", "n") == a
    long = names.k8s_name("x" * 100)
    assert len(long) <= 63 and long != names.k8s_name("x" * 101)


@pytest.mark.parametrize("bad", ["/pki", "pki/", "", "a b", "a//b", None])
def test_mount_path_bad(bad: object) -> None:
    with pytest.raises(ConfigError, match="mount path"):
        names.mount_path(bad, "C", "path")
