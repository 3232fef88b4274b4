"""KvStore: check-and-set and seeded secrets cannot go together (Vault refuses a seed write without `cas`,
and a declarative seed cannot know the current version on update; found by the schema-reach fixture)."""

from __future__ import annotations

import pytest
import vaultconf as vc
from vaultconf.testing import run_under_mocks

from tests.components._programs import providers


def test_check_and_set_with_seeded_secrets_is_one_clear_error() -> None:
    with pytest.raises(vc.ConfigError, match=r"cas_required.*seeded secrets"):
        run_under_mocks(
            lambda: vc.KvStore(
                "kv", {"cas_required": True, "secrets": {"app/db": {"k": "v"}}}, opts=providers()
            )
        )


def test_check_and_set_alone_and_seeds_alone_are_fine() -> None:
    run = run_under_mocks(lambda: vc.KvStore("kv", {"cas_required": True}, opts=providers()))
    assert run.one("vault:kv/secretBackendV2:SecretBackendV2").inputs["casRequired"] is True
    run = run_under_mocks(lambda: vc.KvStore("kv", {"secrets": {"app/db": {"k": "v"}}}, opts=providers()))
    assert len(run.of_type("vault:kv/secretV2:SecretV2")) == 1
