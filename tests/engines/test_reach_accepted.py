"""The schema-reach fixture (every YAML field set, tests/stack/data/reach) as the real Vault takes it: every
Vault resource the stack registers for it is written through the HTTP API (tests/engines/stack_to_vault.py),
and the hardening fields read back as set — the kubernetes roles' audiences, the AppRole secret_id lifetime,
use count and CIDR bounds (which then really refuse a login from outside them)."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from vaultconf.testing import Recorded

from tests.engines.stack_to_vault import Applier
from tests.stack.test_schema_reach import EVERYTHING, run_tree
from tests.support.vault import VaultDevServer, VaultError

pytestmark = pytest.mark.engines

SECRET_ID = "vault:appRole/authBackendRoleSecretId:AuthBackendRoleSecretId"


def test_every_reach_field_is_accepted_by_vault_and_reads_back(
    fresh_vault: VaultDevServer, tmp_path: pathlib.Path
) -> None:
    run = run_tree(yaml.safe_load(EVERYTHING.read_text(encoding="utf-8")), tmp_path)
    applier = Applier(fresh_vault, run)
    issued: dict[str, str] = {}

    def secret_id(rec: Recorded) -> None:  # what pulumi-vault's AuthBackendRoleSecretId does on create
        i = rec.inputs
        answer = applier.call(rec, "POST", f"auth/{i['backend']}/role/{i['roleName']}/secret-id",
                              {"metadata": i["metadata"]})
        issued[i["roleName"]] = answer["data"]["secret_id"]

    applier.handlers[SECRET_ID] = secret_id
    applier.apply_all()
    assert {t for t, _ in applier.written} == {r.type for r in applier.vault_resources()}

    k8s = fresh_vault.request("GET", "auth/k8s-reach/role/reach-k8s")["data"]
    assert k8s["audience"] == "reach-role-audience"
    default = fresh_vault.request("GET", "auth/k8s-reach/role/reach-k8s-default")["data"]
    assert default["audience"] == "reach-audience"

    role = fresh_vault.request("GET", "auth/approle-reach/role/reach-approle")["data"]
    assert role["secret_id_ttl"] == 4719 and role["secret_id_num_uses"] == 7
    assert role["secret_id_bound_cidrs"] == ["10.47.0.0/16"] and role["token_bound_cidrs"] == ["10.48.0.0/16"]
    role_id = fresh_vault.request("GET", "auth/approle-reach/role/reach-approle/role-id")["data"]["role_id"]
    # This test runs on 127.0.0.1, outside the secret_id's bound network: Vault must refuse the login.
    with pytest.raises(VaultError, match=r"HTTP (400|403)"):
        fresh_vault.request("POST", "auth/approle-reach/login",
                            {"role_id": role_id, "secret_id": issued["reach-approle"]}, token="")
