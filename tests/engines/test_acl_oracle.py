"""vaultconf.acl agrees with the real Vault's sys/capabilities on every (policy set, path) pair of the corpus.

Each case's policies are rendered to HCL (vaultconf.hcl), written to Vault, attached to a fresh token (without
the `default` policy), and sys/capabilities is asked about all the case's paths in one call.
"""

from __future__ import annotations

import pytest

from tests.engines.acl_corpus import AclCase, corpus, hand_cases
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines

CORPUS = corpus()


def test_corpus_is_large_enough() -> None:
    assert sum(case.pairs for case in CORPUS) >= 200
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    assert len(hand_cases()) >= 30


def _render(rules: dict[str, list[str]]) -> str:
    from vaultconf.hcl import render_policy

    return render_policy(rules)


def vault_capabilities(vault: VaultDevServer, case: AclCase, tag: str) -> dict[str, frozenset[str]]:
    """What the real Vault answers for each path of `case`."""
    names = []
    for index, rules in enumerate(case.policies):
        name = f"acl-{tag}-{index}"
        vault.request("PUT", f"sys/policies/acl/{name}", {"policy": _render(rules)})
        names.append(name)
    token = vault.request("POST", "auth/token/create", {
        "policies": names, "no_default_policy": True, "ttl": "10m", "renewable": False,
    })["auth"]["client_token"]
    try:
        answer = vault.request("POST", "sys/capabilities", {"token": token, "paths": list(case.paths)})
    finally:
        vault.request("POST", "auth/token/revoke", {"token": token})
        for name in names:
            vault.request("DELETE", f"sys/policies/acl/{name}")
    return {path: frozenset(answer["data"][path]) for path in case.paths}


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_acl_matches_vault(vault_dev: VaultDevServer, case: AclCase) -> None:
    from vaultconf.acl import capabilities

    expected = vault_capabilities(vault_dev, case, case.name)
    ours = {path: capabilities(list(case.policies), path) for path in case.paths}
    wrong = {p: (sorted(ours[p]), sorted(expected[p])) for p in case.paths if ours[p] != expected[p]}
    assert not wrong, (
        f"vaultconf.acl disagrees with Vault for policies {list(case.policies)}: "
        + "; ".join(f"{p!r}: ours {o} vs Vault {v}" for p, (o, v) in wrong.items())
    )
