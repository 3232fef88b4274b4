"""Every Vault resource the stack registers for the example config is accepted by the real Vault.

The stack (infra/__main__.py) runs under recording Pulumi mocks for each overlay; each recorded pulumi-vault
resource is then written to a fresh dev Vault through the HTTP API with the same parameters
(tests/engines/stack_to_vault.py), and a few results are used as a client would use them.
"""

from __future__ import annotations

import pytest

from tests.engines.stack_to_vault import Applier
from tests.stack._program import run_stack
from tests.support.vault import VaultDevServer

pytestmark = pytest.mark.engines


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_resources_accepted_by_vault(fresh_vault: VaultDevServer, stack: str) -> None:
    run = run_stack(stack)
    applier = Applier(fresh_vault, run)
    resources = applier.vault_resources()
    assert len(resources) >= 15
    applier.apply_all()
    applied_types = {t for t, _ in applier.written}
    assert applied_types == {r.type for r in resources}

    # The results work as a client would use them.
    for role in run.of_type("vault:pkiSecret/secretBackendRole:SecretBackendRole"):
        domain = role.inputs["allowedDomains"][0]
        issued = fresh_vault.request("POST", f"{role.inputs['backend']}/issue/{role.inputs['name']}",
                                     {"common_name": f"svc.{domain}", "ttl": "10m"})["data"]
        assert issued["certificate"].startswith("-----BEGIN CERTIFICATE-----")
        assert len(issued["ca_chain"]) >= 2  # intermediate signed by the root
    for user in run.of_type("vault:index/userpassAuthBackendUser:UserpassAuthBackendUser"):
        login = fresh_vault.request(
            "POST", f"auth/{user.inputs['mount']}/login/{user.inputs['username']}",
            {"password": user.inputs["passwordWo"]}, token="",
        )["auth"]
        assert set(user.inputs["tokenPolicies"]) <= set(login["policies"])
    for role in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole"):
        stored = fresh_vault.request("GET", f"auth/{role.inputs['backend']}/role/{role.inputs['roleName']}")
        assert stored["data"]["bound_service_account_names"] == role.inputs["boundServiceAccountNames"]
