"""Policies that do, or only look like they do, let their holder escalate; the real Vault decides which.

tests/engines/test_escalation_oracle.py gives a token holding ONLY one of these policies to every attempt in
tests/support/escalation_attempts.py against a Vault set up like the shipped stack
(tests/support/escalation_world.py), then checks `vaultconf validate --format json` agrees.

`expect` is what the corpus's author predicts Vault will allow ("escalation", "wide-read" or "safe"); the
oracle test also checks Vault against it, so a broken attempt (one that can no longer succeed) is caught
instead of silently turning every dangerous policy into a "safe" one. The policy name is the case name:
rules that target the holder's own policy spell it. `{ACC}` stands for the userpass mount's accessor, known
only once Vault runs (templated policies name it).

Families follow issue 11: ACL policy writes, mounts/audit/plugins, raw/seal/leases, userpass users, auth
roles and auth config, token creation, identity, secrets-engine configuration, wide reads; each with safe
look-alikes that share its paths' shape.
"""

from __future__ import annotations

import dataclasses

Rules = dict[str, list[str]]
OWN_NAME = "{{identity.entity.aliases.{ACC}.name}}"


@dataclasses.dataclass(frozen=True)
class EscalationCase:
    name: str  # also the policy's name in Vault and in the YAML
    family: str
    expect: str  # "escalation" | "wide-read" | "safe"
    rules: Rules
    why: str

    def concrete_rules(self, accessor: str) -> Rules:
        """The rules with the userpass accessor filled in (templated paths name it)."""
        return {path.replace("{ACC}", accessor): caps for path, caps in self.rules.items()}


def _c(name: str, family: str, expect: str, rules: Rules, why: str) -> EscalationCase:
    return EscalationCase(f"esc-{name}", family, expect, rules, why)


E, W, S = "escalation", "wide-read", "safe"

CORPUS: tuple[EscalationCase, ...] = (
    # --- writing ACL policies ------------------------------------------------------------------------
    _c("acl-own", "acl-policy", E, {"sys/policies/acl/esc-acl-own": ["update"]}, "rewrites its own policy"),
    _c("acl-glob", "acl-policy", E, {"sys/policies/acl/*": ["create", "update"]}, "rewrites any policy"),
    _c("acl-plus", "acl-policy", E, {"sys/policies/acl/+": ["update"]}, "rewrites any policy"),
    _c("acl-prefix", "acl-policy", E, {"sys/policies/acl/esc-*": ["update"]}, "a prefix covering its own"),
    _c("acl-legacy", "acl-policy", E, {"sys/policy/esc-acl-legacy": ["update"]}, "the legacy endpoint"),
    _c("acl-list", "acl-policy", S, {"sys/policies/acl": ["list"]}, "lists policy names only"),
    _c("acl-read", "acl-policy", S, {"sys/policies/acl/+": ["read"]}, "reads policies, writes none"),
    # --- mounts, audit devices, plugins --------------------------------------------------------------
    _c("auth-enable", "mounts", E, {"sys/auth/*": ["create", "update", "sudo"]}, "enables auth methods"),
    _c("mount-enable", "mounts", E, {"sys/mounts/+": ["create", "update"]}, "enables secrets engines"),
    _c("mount-tune", "mounts", E, {"sys/mounts/apps/tune": ["update"]}, "re-tunes the team KV mount"),
    _c("auth-tune", "mounts", E, {"sys/mounts/auth/userpass/tune": ["update"]}, "re-tunes userpass"),
    _c("mount-disable", "mounts", E, {"sys/mounts/spare": ["delete"]}, "disables a mount"),
    _c("remount", "mounts", E, {"sys/remount": ["update", "sudo"], "loot/*": ["read"]},
       "moves the crown's mount under a path it reads"),
    _c("audit-enable", "mounts", E, {"sys/audit/+": ["create", "update", "sudo"]}, "adds an audit device"),
    _c("audit-disable", "mounts", E, {"sys/audit/main": ["delete", "sudo"]}, "removes the audit device"),
    _c("plugin", "mounts", E, {"sys/plugins/catalog/*": ["create", "update", "sudo"]}, "registers plugins"),
    _c("mounts-read", "mounts", S, {"sys/mounts": ["read"], "sys/auth": ["read"]}, "lists mounts only"),
    _c("tune-read", "mounts", S, {"sys/mounts/apps/tune": ["read"]}, "reads a mount's tuning"),
    # --- raw storage, seal, leases -------------------------------------------------------------------
    _c("raw", "raw-seal-leases", E, {"sys/raw/*": ["read", "list", "sudo"]}, "reads storage below ACLs"),
    _c("seal", "raw-seal-leases", E, {"sys/seal": ["update", "sudo"]}, "seals Vault"),
    _c("revoke-prefix", "raw-seal-leases", E, {"sys/leases/revoke-prefix/*": ["update", "sudo"]},
       "revokes everyone's leases and tokens"),
    _c("revoke-force", "raw-seal-leases", E, {"sys/leases/revoke-force/auth/*": ["update", "sudo"]},
       "force-revokes others' tokens"),
    _c("lease-revoke", "raw-seal-leases", S, {"sys/leases/revoke": ["update"]},
       "revokes a lease whose id it holds"),
    _c("lease-lookup", "raw-seal-leases", S,
       {"sys/leases/lookup": ["update"], "sys/leases/renew": ["update"]},
       "looks up and renews leases it holds"),
    # --- userpass users ------------------------------------------------------------------------------
    _c("up-password", "userpass", E, {"auth/userpass/users/+/password": ["update"]},
       "resets anyone's password"),
    _c("up-users", "userpass", E, {"auth/userpass/users/*": ["create", "update"]}, "creates users"),
    _c("up-victim", "userpass", E, {"auth/userpass/users/ops-root": ["update"]},
       "an exact path to a privileged user"),
    _c("up-own-policies", "userpass", E, {f"auth/userpass/users/{OWN_NAME}/policies": ["update"]},
       "sets its own user's policies"),
    _c("up-own-user", "userpass", E, {f"auth/userpass/users/{OWN_NAME}": ["update"]},
       "its own user, token_policies included"),
    _c("up-own-password", "userpass", S, {f"auth/userpass/users/{OWN_NAME}/password": ["update"]},
       "changes only its own password"),
    _c("up-list", "userpass", S, {"auth/userpass/users": ["list"]}, "lists user names"),
    # --- roles of auth methods and auth mount config -------------------------------------------------
    _c("ar-secret-id", "auth-roles", E, {"auth/approle/role/+/secret-id": ["update"]},
       "mints secret-ids for every role"),
    _c("ar-deployer", "auth-roles", E, {"auth/approle/role/deployer/secret-id": ["update"]},
       "mints secret-ids for a privileged role"),
    _c("ar-roles", "auth-roles", E, {"auth/approle/role/*": ["create", "update"]}, "defines approle roles"),
    _c("ar-role-id", "auth-roles", S, {"auth/approle/role/+/role-id": ["read"]}, "reads role ids only"),
    _c("k8s-roles", "auth-roles", E, {"auth/kubernetes/role/+": ["create", "update"]},
       "binds service accounts to any policy"),
    _c("k8s-config", "auth-roles", E, {"auth/kubernetes/config": ["update"]},
       "re-points kubernetes auth to another TokenReview"),
    _c("k8s-role-read", "auth-roles", S, {"auth/kubernetes/role/billing-api": ["read"]}, "reads a role"),
    _c("jwt-roles", "auth-roles", E, {"auth/jwt/role/*": ["create", "update"]},
       "binds subjects to any policy"),
    _c("jwt-config", "auth-roles", E, {"auth/jwt/config": ["update"]}, "trusts another identity provider"),
    _c("jwt-role-read", "auth-roles", S, {"auth/jwt/role/+": ["read"], "auth/jwt/role": ["list"]},
       "reads roles"),
    _c("ar-secret-id-list", "auth-roles", S, {"auth/approle/role/+/secret-id": ["list"]},
       "lists secret-id accessors, which log no one in"),
    # --- token creation ------------------------------------------------------------------------------
    _c("tok-roles", "token", E, {"auth/token/roles/ci": ["update"], "auth/token/create/ci": ["update"]},
       "widens the token role it uses"),
    _c("tok-ops", "token", E, {"auth/token/create/ops": ["update"]}, "a token role allowing ops-admin"),
    _c("tok-orphan", "token", E, {"auth/token/create-orphan": ["update"]}, "orphan tokens"),
    _c("tok-sudo", "token", E, {"auth/token/create": ["update", "sudo"]}, "no_parent needs sudo, has it"),
    _c("tok-child", "token", S, {"auth/token/create": ["update"]}, "children with a subset of its rights"),
    _c("tok-self", "token", S, {"auth/token/lookup-self": ["read"], "auth/token/renew-self": ["update"]},
       "what the default policy grants"),
    # --- identity ------------------------------------------------------------------------------------
    _c("id-group-name", "identity", E, {"identity/group/name/+": ["update"]}, "joins any group"),
    _c("id-group", "identity", E, {"identity/group/*": ["create", "update"]}, "creates or joins groups"),
    _c("id-own-entity", "identity", E, {"identity/entity/id/{{identity.entity.id}}": ["update"]},
       "sets its own entity's policies"),
    _c("id-alias", "identity", E, {"identity/entity-alias/id/+": ["update"]}, "re-homes login aliases"),
    _c("id-group-read", "identity", S, {"identity/group/name/ops-admins": ["read"]}, "reads a group"),
    _c("id-entities-read", "identity", S, {"identity/entity/id/+": ["read"], "identity/entity/id": ["list"]},
       "reads entities"),
    _c("id-own-read", "identity", S, {"identity/entity/id/{{identity.entity.id}}": ["read"]},
       "reads its own entity"),
    # --- configuring secrets engines -----------------------------------------------------------------
    _c("pki-role", "engine-config", E,
       {"pki-int/roles/internal": ["update"], "pki-int/issue/internal": ["update"]},
       "widens the role it issues from"),
    _c("pki-sign-int", "engine-config", E, {"pki-root/root/sign-intermediate": ["update"]},
       "signs a CA of its own"),
    _c("pki-verbatim", "engine-config", E, {"pki-int/sign-verbatim": ["update"]}, "signs any name"),
    # names unbound by allowed_parameters: a certificate for another workload's name (issue 11 item 3)
    _c("pki-issue", "engine-config", E, {"pki-int/issue/internal": ["update"]}, "any name of its role"),
    _c("pki-issue-any", "engine-config", E, {"pki-int/issue/+": ["update"]}, "issues any name of any role"),
    _c("pki-sign", "engine-config", E, {"pki-int/sign/internal": ["update"]}, "signs a CSR naming anyone"),
    _c("pki-issuer-issue", "engine-config", E, {"pki-int/issuer/+/issue/internal": ["update"]},
       "issues any name through an issuer"),
    _c("pki-read", "engine-config", S, {"pki-int/cert/+": ["read"], "pki-int/roles/+": ["read"]},
       "reads certificates and roles"),
    _c("aws-roles", "engine-config", E, {"aws/roles/+": ["create", "update"]}, "widens AWS roles"),
    _c("aws-root", "engine-config", E, {"aws/config/root": ["update"]}, "replaces AWS root credentials"),
    _c("aws-creds", "engine-config", S, {"aws/creds/app-s3": ["read"]}, "uses an AWS role"),
    _c("db-config", "engine-config", E, {"database/config/+": ["create", "update"]}, "points at any DB"),
    # --- reads and lists across teams ----------------------------------------------------------------
    _c("read-all-kv", "wide-read", W, {"+/data/*": ["read"]}, "reads every KV v2 secret"),
    _c("read-all-teams", "wide-read", W, {"apps/data/*": ["read"]}, "reads every team's secrets"),
    _c("read-team-plus", "wide-read", W, {"apps/data/+/smtp": ["read"]}, "a team wildcard"),
    _c("read-own-team", "wide-read", S, {"apps/data/billing/*": ["read"]}, "its own team only"),
    _c("read-templated", "wide-read", S, {f"apps/data/{OWN_NAME}/*": ["read"]}, "its own folder only"),
)
