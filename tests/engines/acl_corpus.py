"""(policy set, path) pairs on which Vault's own sys/capabilities is the oracle for vaultconf.acl.

Two parts:

* hand-written cases, one per rule of Vault's matching algorithm (vault/acl.go, "Priority matching" in the
  policy docs): exact paths, `*` prefix globs (whole and partial segment), `+` segment wildcards (alone, at
  the start, with a trailing `*`), longest-prefix precedence, each tie-break between competing wildcard
  rules (first wildcard position, prefix or not, number of `+`, length, lexicographic order), policies
  merged (union, deny wins, leading `/`), explicit deny, no match, and list-style paths with a trailing `/`
  (Vault retries them without the slash first);
* seeded random cases over a small vocabulary, so that many rules compete for the same paths.

Plain data, deterministic: the same corpus on every run, so a disagreement is reproducible by name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Policy = dict[str, list[str]]

# Everything a policy can grant, "deny" aside (it is drawn separately).
GRANTS = ("create", "read", "update", "patch", "delete", "list", "sudo", "subscribe", "recover")


@dataclass(frozen=True)
class AclCase:
    name: str
    policies: tuple[Policy, ...]
    paths: tuple[str, ...]

    @property
    def pairs(self) -> int:
        return len(self.paths)


def _case(name: str, policies: list[Policy], paths: list[str]) -> AclCase:
    return AclCase(name, tuple(policies), tuple(dict.fromkeys(paths)))


def hand_cases() -> list[AclCase]:
    c = _case
    return [
        c("exact", [{"kv/data/app": ["read"]}],
          ["kv/data/app", "kv/data/app/", "kv/data/app2", "kv/data", "kv/data/app/x", "kv/data/ap"]),
        c("exact-trailing-slash-rule", [{"kv/metadata/app/": ["list"]}],
          ["kv/metadata/app/", "kv/metadata/app", "kv/metadata/app/x"]),
        c("exact-beats-glob", [{"kv/data/app": ["read"], "kv/data/*": ["list", "delete"]}],
          ["kv/data/app", "kv/data/app/", "kv/data/other", "kv/data/app/x", "kv/data/"]),
        c("exact-allow-beats-glob-deny", [{"kv/*": ["deny"], "kv/open": ["read", "update"]}],
          ["kv/open", "kv/open/", "kv/opened", "kv/closed", "kv"]),
        c("exact-deny-beats-glob-allow", [{"kv/*": ["read"], "kv/secret": ["deny"]}],
          ["kv/secret", "kv/secret/", "kv/secret/x", "kv/other"]),
        c("longest-prefix", [{"secret/*": ["read"], "secret/data/*": ["create", "update"],
                              "secret/data/team-a/*": ["deny"]}],
          ["secret/x", "secret/data/x", "secret/data/team-a/db", "secret/data/team-ab",
           "secret/data/team-a", "secret/data/team-a/", "secret", "secret/"]),
        c("glob-everything", [{"*": ["read", "list"], "sys/*": ["deny"]}],
          ["anything", "sys/health", "sys", "sysx", "sys/", "a/b/c/d"]),
        c("partial-segment-glob", [{"kv/data/app*": ["read"]}],
          ["kv/data/app", "kv/data/application", "kv/data/app/x", "kv/data/ap", "kv/data/app/"]),
        c("plus-segment", [{"kv/+/app": ["read"]}],
          ["kv/data/app", "kv/metadata/app", "kv/data/app/x", "kv/app", "kv/data/app/", "kv//app"]),
        c("plus-leading", [{"+/data/app": ["update"]}],
          ["kv/data/app", "secret/data/app", "data/app", "kv/data/app/", "kv/data/apps"]),
        c("plus-alone", [{"+": ["list"]}], ["secret", "secret/", "secret/x", "+"]),
        c("plus-with-glob", [{"kv/+/app/*": ["read"], "kv/+/app*": ["update"]}],
          ["kv/data/app/x", "kv/data/app", "kv/data/apps", "kv/data/app/", "kv/data/app/x/y"]),
        c("plus-two-segments", [{"kv/+/+/db": ["read"]}],
          ["kv/data/team-a/db", "kv/data/db", "kv/data/team-a/db/x", "kv/a/b/db/"]),
        # Tie-breaks between wildcard rules, in Vault's order.
        c("tie-first-wildcard-later-wins", [{"kv/data/+/db": ["read"], "kv/+/team-a/db": ["update"]}],
          ["kv/data/team-a/db", "kv/meta/team-a/db", "kv/data/team-b/db"]),
        c("tie-prefix-glob-vs-plus", [{"kv/a*": ["read"], "kv/+": ["update"]}],
          ["kv/abc", "kv/a", "kv/b", "kv/abc/d", "kv/b/"]),
        c("tie-not-prefix-wins", [{"kv/+/bar": ["read"], "kv/+/ba*": ["update"]}],
          ["kv/x/bar", "kv/x/baz", "kv/x/bar/y", "kv/x/bar/"]),
        c("tie-plus-vs-star-same-position", [{"kv/+": ["read"], "kv/*": ["update"]}],
          ["kv/x", "kv/x/y", "kv/", "kv/x/"]),
        c("tie-fewer-wildcards", [{"kv/+/a/b": ["read"], "kv/+/+/b": ["update"]}],
          ["kv/x/a/b", "kv/x/c/b", "kv/x/a/b/"]),
        c("tie-longer-wins", [{"kv/+/bar/ba*": ["read"], "kv/+/bar/b*": ["update"]}],
          ["kv/x/bar/baz", "kv/x/bar/bz", "kv/x/bar/b", "kv/x/bar/ba"]),
        c("tie-lexicographic", [{"kv/+/x/+": ["read"], "kv/+/+/y": ["update"]}],
          ["kv/a/x/y", "kv/a/x/z", "kv/a/w/y"]),
        c("tie-lexicographic-prefix", [{"kv/+/xx/+": ["read"], "kv/+/+/yy": ["update"]}],
          ["kv/a/xx/yy", "kv/a/xx/yy/"]),
        c("prefix-glob-vs-plus-later", [{"kv/data/*": ["read"], "kv/+/team-a/*": ["update"]}],
          ["kv/data/team-a/db", "kv/meta/team-a/db", "kv/data/x"]),
        # Merging rules for the same pattern across policies.
        c("merge-union", [{"kv/data/a": ["read"]}, {"kv/data/a": ["update", "list"]}],
          ["kv/data/a", "kv/data/a/", "kv/data/b"]),
        c("merge-deny-wins", [{"kv/data/*": ["read", "list"]}, {"kv/data/*": ["deny"]}],
          ["kv/data/x", "kv/data/"]),
        c("merge-deny-first", [{"kv/+/x": ["deny"]}, {"kv/+/x": ["read"]}, {"kv/+/y": ["read"]}],
          ["kv/a/x", "kv/a/y"]),
        c("merge-exact-over-glob-across-policies", [{"kv/data/a": ["read"]}, {"kv/data/*": ["update"]}],
          ["kv/data/a", "kv/data/b"]),
        c("merge-leading-slash", [{"/kv/x": ["read"]}, {"kv/x": ["update"]}], ["kv/x", "kv/x/"]),
        c("merge-three-policies", [{"kv/*": ["read"]}, {"kv/a/*": ["list"]}, {"kv/a/b/*": ["deny"]}],
          ["kv/z", "kv/a/z", "kv/a/b/z", "kv/a/b", "kv/a/"]),
        c("every-capability", [{"sys/mounts/*": list(GRANTS)}], ["sys/mounts/kv", "sys/mounts"]),
        c("no-match", [{"kv/a": ["read"]}], ["other", "kv/b", "kv"]),
        # List-style paths: Vault matches the wildcard rules against the path without its trailing '/' first.
        c("list-trailing-slash-shorter-prefix", [{"kv/a/*": ["read"], "kv/*": ["update"]}],
          ["kv/a/", "kv/a/x", "kv/a", "kv/b/"]),
        c("list-trailing-slash-only-longer", [{"kv/a/*": ["read"]}], ["kv/a/", "kv/a"]),
        c("list-trailing-slash-plus", [{"kv/+/app": ["read"], "kv/+/app/*": ["update"]}],
          ["kv/data/app/", "kv/data/app/x/"]),
    ]


_FIRST = ("kv", "secret")
_REST = ("data", "metadata", "team-a", "team-b", "app", "db", "x")


def _random_base(rng: random.Random) -> list[str]:
    return [rng.choice(_FIRST)] + [rng.choice(_REST) for _ in range(rng.randint(0, 3))]


def _pattern(rng: random.Random, base: list[str]) -> str:
    segs = list(base)
    kind = rng.choice(("exact", "exact", "slash", "glob", "partial", "plus", "plus", "plus-glob",
                       "plus-partial"))
    if kind.startswith("plus"):
        for _ in range(rng.randint(1, 2)):
            segs[rng.randrange(len(segs))] = "+"
    path = "/".join(segs)
    if kind == "slash":
        return path + "/"
    if kind in ("glob", "plus-glob"):
        return path + "/*"
    if kind in ("partial", "plus-partial"):
        last = segs[-1]
        if last == "+":
            return path + "/*"  # '+*' is invalid
        return "/".join([*segs[:-1], last[: rng.randint(1, len(last))]]) + "*"
    return path


def _capabilities(rng: random.Random) -> list[str]:
    if rng.random() < 0.12:
        return ["deny"]
    return rng.sample(GRANTS, rng.randint(1, 3))


def _query_paths(rng: random.Random, bases: list[list[str]]) -> list[str]:
    out: list[str] = []
    for base in bases:
        path = "/".join(base)
        out += [path, path + "/", path + "/" + rng.choice(_REST)]
        sibling = list(base)
        sibling[rng.randrange(len(sibling))] = rng.choice(_REST)
        out.append("/".join(sibling))
    out.append("/".join(_random_base(rng)))
    unique = list(dict.fromkeys(out))
    rng.shuffle(unique)
    return unique[:5]


def generated_cases(count: int = 60, seed: int = 20261127) -> list[AclCase]:
    rng = random.Random(seed)
    cases: list[AclCase] = []
    for index in range(count):
        bases: list[list[str]] = []
        policies: list[Policy] = []
        for _ in range(rng.randint(1, 3)):
            policy: Policy = {}
            for _ in range(rng.randint(1, 4)):
                # Reuse a base most of the time so rules compete for the same paths.
                base = rng.choice(bases) if bases and rng.random() < 0.6 else _random_base(rng)
                bases.append(base)
                pattern = _pattern(rng, base)
                if pattern.lstrip("/") not in {p.lstrip("/") for p in policy}:
                    policy[pattern] = _capabilities(rng)
            policies.append(policy)
        cases.append(_case(f"gen-{index:02d}", policies, _query_paths(rng, bases)))
    return cases


def corpus() -> list[AclCase]:
    return hand_cases() + generated_cases()
