"""`vaultconf import` names what the YAML cannot express instead of dropping it silently (issue 13: "what
cannot be adopted is listed, with what happens next").

Found by adopting a hand-made Vault outside the repo's scenario: a userpass user with `token_bound_cidrs` and
an auth mount with a description were left out of the YAML without a note; the first preview showed a change
to both, and the first up wiped the mount's description.
"""

from __future__ import annotations

from vaultconf.config.importer import import_vault

from tests.e2e.test_adopt import StubVault
from tests.stack._program import cluster_ca_pem


def _stub() -> StubVault:
    return StubVault(cluster_ca_pem())


def test_a_plain_vault_gets_no_such_note() -> None:
    notes = import_vault(_stub()).notes
    assert not [n for n in notes if "cannot be expressed in the YAML" in n or n.startswith("auth mount")]


def test_user_token_fields_the_yaml_lacks_are_named() -> None:
    vault = _stub()
    vault.reads["auth/userpass/users/alice"] |= {
        "token_bound_cidrs": ["10.0.0.0/8"],
        "token_num_uses": 0,  # Vault's default: not named
        "token_type": "default",
        "token_period": 300,
    }
    notes = import_vault(vault).notes
    (note,) = [n for n in notes if n.startswith("user alice: token")]
    assert "token_bound_cidrs, token_period cannot be expressed" in note
    assert "token_num_uses" not in note and "token_type" not in note
    assert "10.0.0.0/8" not in note  # names, not values


def test_an_auth_mount_description_is_named_on_one_printable_line() -> None:
    vault = _stub()
    vault.reads["sys/auth"]["userpass/"]["description"] = "humans\n\x1b[31mnote: fake\x1b[0m"
    vault.reads["sys/auth"]["approle/"]["description"] = "machines"
    notes = import_vault(vault).notes
    described = sorted(n for n in notes if n.startswith("auth mount"))
    assert described == [
        "auth mount approle: its description (machines) cannot be expressed; the first up clears it",
        "auth mount userpass: its description (humans [31mnote: fake[0m) cannot be expressed; the first up "
        "clears it",
    ]
    assert all("\x1b" not in n and "\n" not in n for n in notes)
