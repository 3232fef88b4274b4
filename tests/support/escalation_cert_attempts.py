"""The certificate attempt of the escalation oracle: a certificate for a name another workload owns.

The holder in the oracle is a user no workload uses, so every workload's name is someone else's: here the
shipped billing workload's (infra/config/base/workloads.yaml), which the world's `internal` role allows.
It is tried through every path that issues or signs on pki-int: `issue/<role>` (bound by
`allowed_parameters` only if the policy says so), `sign/<role>` (the name comes from the CSR, which
`allowed_parameters` cannot bind) and the issuer-scoped forms (vault builtin/logical/pki path_issue_sign.go).
"""

from __future__ import annotations

from tests.support.escalation_attempts import Evidence, attempt
from tests.support.escalation_config_attempts import _csr
from tests.support.escalation_world import Actor, World

FOREIGN_NAME = "billing-api.billing.internal.example"


@attempt("obtain a certificate for another workload's name")
def foreign_certificate(w: World, a: Actor) -> Evidence:
    issue = {"common_name": FOREIGN_NAME, "ttl": "5m"}
    sign = {"csr": _csr(FOREIGN_NAME, False), "common_name": FOREIGN_NAME, "ttl": "5m"}
    for path, body in (("pki-int/issue/internal", issue), ("pki-int/issuer/default/issue/internal", issue),
                       ("pki-int/sign/internal", sign), ("pki-int/issuer/default/sign/internal", sign)):
        status, answer = w.call(a.token, "POST", path, body)
        if status == 200 and (answer.get("data") or {}).get("certificate"):
            return f"POST {path} gave a certificate for {FOREIGN_NAME}"
    return None
