"""Whether an identity's login works for a pod: the one namespace / service-account binding check.

`vaultconf validate` asks it of the YAML (config/rules.py) and the Workload component asks it of its `auth`
argument (library users have no validate), so both refuse the same pods with the same words. Standard
library only: `vaultconf.config` imports it without Pulumi.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

IdentityKind = Literal["user", "kubernetes_role", "approle"]
IDENTITY_KINDS: dict[str, IdentityKind] = {
    "user": "user",
    "kubernetes_role": "kubernetes_role",
    "approle": "approle",
}
"""A workload's `identity` key as the typed kind (the schema allows exactly these)."""
ANY = "*"  # a kubernetes role binding "*" binds every namespace / service account
_ABSENT = {  # by identity kind and by the sidekick's login method: what is missing in another namespace
    "user": "no credentials Secret",
    "userpass": "no credentials Secret",
    "approle": "no role_id/secret_id Secret",
}


def binding_problem(
    kind: str,
    what: str,
    namespaces: Collection[str] | None,
    service_accounts: Collection[str] | None,
    namespace: str,
    service_account: str,
    holder: str,
) -> tuple[str, str, str] | None:
    """(field, problem, fix) when pods in `namespace` running as `service_account` cannot log in with the
    identity `what` (e.g. "user 'billing-api'") of `kind` (an IdentityKind or a login method), else None.
    `namespaces` / `service_accounts`: where the login works (None or "*": anywhere; service accounts only
    bind for kubernetes roles); `holder` names the declaration in the fix ("users[billing-api]")."""

    def bound(value: str, allowed: Collection[str] | None) -> bool:
        return allowed is None or ANY in allowed or value in allowed

    if service_accounts is not None and not (
        bound(namespace, namespaces) and bound(service_account, service_accounts)
    ):
        return (
            "service_account" if bound(namespace, namespaces) else "namespace",
            f"{what} does not bind service account {namespace}/{service_account}",
            f"add the namespace and service account to {holder}'s bindings",
        )
    if not bound(namespace, namespaces):
        return (
            "namespace",
            f"{what} cannot be used in '{namespace}': {_ABSENT.get(kind, 'no login')} in namespace "
            f"'{namespace}' (only in {', '.join(sorted(namespaces or ()))})",
            f"add '{namespace}' to {holder}.namespaces",
        )
    return None
