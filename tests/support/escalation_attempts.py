"""Escalation attempts, tried FOR REAL by a token holding only one policy (tests/support/escalation_world.py).

Each attempt returns a sentence of evidence when Vault let it through, else None. What "escalated" means,
per family (the holder's policy never grants any of these outcomes on its face):

* gain: the attempt ends with a credential (the holder's own token, or one it obtained: another user's
  login, an approle or kubernetes login, a token from a token role) reading the crown secret
  `ops/data/root-creds`, which only policy `ops-admin` grants, after the holder's own token could not read
  it. Policy rewrites, password resets, secret-ids, roles, token roles, groups, entities, aliases, re-pointed
  kubernetes auth, remounts and raw storage all end this way;
* token escape: the holder obtained an orphan token, which outlives the revocation of its own token;
* security configuration: Vault accepted a change that governs other principals, read back by root:
  the mount table (enable, disable, remount), a mount's tuning, audit devices, the plugin catalog, the seal,
  another principal's token (revoke-prefix, revoke-force), a secrets engine's configuration (PKI role,
  AWS root credentials and roles, a database connection) or a certificate signed outside the role (an
  intermediate CA, sign-verbatim);
* wide read (kind "wide-read", a warning in the analysis): the holder, as the billing team, read a secret of
  another team (reports) or the crown secret directly.
The rekey and generate-root endpoints are not tried: they are unauthenticated (key shares guard them).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

from tests.support.escalation_kube import JwtIssuer, service_account_jwt
from tests.support.escalation_world import CROWN_PATH, OPS_ADMIN_HCL, Actor, World, wait_remount

Evidence = str | None
OK = (200, 204)


@dataclasses.dataclass(frozen=True)
class Attempt:
    name: str
    kind: str  # "escalation" (an error in the analysis) or "wide-read" (a warning)
    run: Callable[[World, Actor], Evidence]


ATTEMPTS: list[Attempt] = []


def attempt(name: str, kind: str = "escalation") -> Callable[[Callable[[World, Actor], Evidence]],
                                                          Callable[[World, Actor], Evidence]]:
    def register(fn: Callable[[World, Actor], Evidence]) -> Callable[[World, Actor], Evidence]:
        ATTEMPTS.append(Attempt(name, kind, fn))
        return fn
    return register


def new_name() -> str:
    return f"evil-{secrets.token_hex(3)}"


def _crown(w: World, token: str, how: str) -> Evidence:
    return f"{how}, then read {CROWN_PATH}" if token and w.reads_crown(token) else None


def client_token(body: dict[str, object]) -> str:
    auth = body.get("auth")
    return str(auth.get("client_token", "")) if isinstance(auth, dict) else ""


# --- wide reads first: they change nothing --------------------------------------------------------------

@attempt("read another team's secret", kind="wide-read")
def read_other_team(w: World, a: Actor) -> Evidence:
    for path in ("apps/data/reports/smtp", CROWN_PATH):
        if w.call(a.token, "GET", path)[0] == 200:
            return f"GET {path} (not the billing team's)"
    return None


# --- gains ----------------------------------------------------------------------------------------------

@attempt("rewrite own policy, use the new rights")
def rewrite_own_policy(w: World, a: Actor) -> Evidence:
    if w.reads_crown(a.token):
        return None
    for path in (f"sys/policies/acl/{a.policy}", f"sys/policy/{a.policy}"):
        if w.call(a.token, "PUT", path, {"policy": a.hcl + OPS_ADMIN_HCL})[0] in OK:
            found = _crown(w, a.token, f"PUT {path} added read on ops/data/*")
            w.root("PUT", f"sys/policies/acl/{a.policy}", {"policy": a.hcl})
            if found:
                return found
    return None


@attempt("set another user's password, log in as them")
def other_password(w: World, a: Actor) -> Evidence:
    password = secrets.token_urlsafe(18)
    for path in ("auth/userpass/users/ops-root/password", "auth/userpass/users/ops-root"):
        if w.call(a.token, "POST", path, {"password": password})[0] in OK:
            auth = w.login_userpass("ops-root", password)
            if auth and (found := _crown(w, auth["client_token"], f"POST {path}, logged in as ops-root")):
                return found
    return None


@attempt("create a user holding ops-admin, log in")
def create_user(w: World, a: Actor) -> Evidence:
    name, password = new_name(), secrets.token_urlsafe(18)
    body = {"password": password, "token_policies": ["ops-admin"]}
    if w.call(a.token, "POST", f"auth/userpass/users/{name}", body)[0] in OK:
        auth = w.login_userpass(name, password)
        return _crown(w, auth["client_token"], f"created user {name}") if auth else None
    return None


@attempt("give own user ops-admin, log in again")
def own_user_policies(w: World, a: Actor) -> Evidence:
    policies = {"token_policies": [a.policy, "ops-admin"]}
    for path in (f"auth/userpass/users/{a.name}/policies", f"auth/userpass/users/{a.name}"):
        if w.call(a.token, "POST", path, policies)[0] in OK:
            auth = w.login_userpass(a.name, a.password)
            if auth and (found := _crown(w, auth["client_token"], f"POST {path}, logged in again")):
                return found
    return None


def _approle_login(w: World, role_id: str, secret_id: str | None) -> str:
    body = {"role_id": role_id} | ({"secret_id": secret_id} if secret_id else {})
    status, answer = w.call("", "POST", "auth/approle/login", body)
    return client_token(answer) if status == 200 else ""


@attempt("mint a secret-id for another approle role, log in")
def approle_secret_id(w: World, a: Actor) -> Evidence:
    custom = secrets.token_urlsafe(18)
    for path, body in (("auth/approle/role/deployer/secret-id", {}),
                       ("auth/approle/role/deployer/custom-secret-id", {"secret_id": custom})):
        status, answer = w.call(a.token, "POST", path, body)
        if status in OK:
            secret_id = str((answer.get("data") or {}).get("secret_id") or custom)
            if found := _crown(w, _approle_login(w, w.deployer_role_id, secret_id), f"POST {path}"):
                return found
    return None


@attempt("define an approle role without a secret-id, log in")
def approle_role(w: World, a: Actor) -> Evidence:
    new = new_name()
    for role, role_id in ((new, f"{new}-id"), ("deployer", w.deployer_role_id)):
        body = {"token_policies": ["ops-admin"], "bind_secret_id": False,
                "secret_id_bound_cidrs": ["127.0.0.1/32"]} | ({"role_id": role_id} if role == new else {})
        if w.call(a.token, "POST", f"auth/approle/role/{role}", body)[0] in OK and (
                found := _crown(w, _approle_login(w, role_id, None), f"wrote approle role {role}")):
            return found
    return None


def _kube_login(w: World, role: str, jwt: str) -> str:
    status, answer = w.call("", "POST", "auth/kubernetes/login", {"role": role, "jwt": jwt})
    return client_token(answer) if status == 200 else ""


@attempt("bind a kubernetes role to own service account, log in")
def kube_role(w: World, a: Actor) -> Evidence:
    body = {"bound_service_account_names": ["billing-api"], "bound_service_account_namespaces": ["billing"],
            "token_policies": ["ops-admin"]}
    for role in (new_name(), "billing-api"):
        if w.call(a.token, "POST", f"auth/kubernetes/role/{role}", body)[0] in OK and (
                found := _crown(w, _kube_login(w, role, w.kube.own_token), f"wrote kubernetes role {role}")):
            return found
    return None


@attempt("re-point kubernetes auth, log in as a privileged service account")
def kube_repoint(w: World, a: Actor) -> Evidence:
    body = {"kubernetes_host": w.kube.evil_url, "disable_local_ca_jwt": True}
    if w.call(a.token, "POST", "auth/kubernetes/config", body)[0] in OK:
        token = _kube_login(w, "ops-deployer", service_account_jwt("ops", "ops-deployer"))
        return _crown(w, token, "re-pointed auth/kubernetes/config to the attacker's TokenReview")
    return None


def _jwt_login(w: World, role: str, jwt: str) -> str:
    status, answer = w.call("", "POST", "auth/jwt/login", {"role": role, "jwt": jwt})
    return client_token(answer) if status == 200 else ""


@attempt("bind a jwt role to own subject, log in")
def jwt_role(w: World, a: Actor) -> Evidence:
    body = {"role_type": "jwt", "user_claim": "sub", "bound_subject": "billing-api",
            "bound_audiences": ["vault"], "token_policies": ["ops-admin"]}
    own = w.idp.token("billing-api")
    for role in (new_name(), "billing-api"):
        if w.call(a.token, "POST", f"auth/jwt/role/{role}", body)[0] in OK and (
                found := _crown(w, _jwt_login(w, role, own), f"wrote jwt role {role}")):
            return found
    return None


@attempt("re-point jwt auth to the attacker's key, log in as a privileged subject")
def jwt_repoint(w: World, a: Actor) -> Evidence:
    attacker = JwtIssuer()
    if w.call(a.token, "POST", "auth/jwt/config", {"jwt_validation_pubkeys": [attacker.public_pem]})[0] in OK:
        return _crown(w, _jwt_login(w, "ops-ci", attacker.token("ops-ci")), "re-pointed auth/jwt/config")
    return None


@attempt("create a token through a privileged or self-made token role")
def token_role(w: World, a: Actor) -> Evidence:
    ask = {"policies": ["ops-admin"], "ttl": "5m"}
    status, answer = w.call(a.token, "POST", "auth/token/create/ops", ask)
    if status == 200 and (found := _crown(w, client_token(answer), "auth/token/create/ops")):
        return found
    for role in ("ci", new_name()):
        if w.call(a.token, "POST", f"auth/token/roles/{role}", {"allowed_policies": ["ops-admin"]})[0] in OK:
            status, answer = w.call(a.token, "POST", f"auth/token/create/{role}", ask)
            if status == 200 and (found := _crown(w, client_token(answer), f"wrote token role {role}")):
                return found
    return None


@attempt("join a privileged identity group")
def join_group(w: World, a: Actor) -> Evidence:
    if w.reads_crown(a.token):
        return None
    member = {"member_entity_ids": [a.entity_id]}
    new_group = member | {"name": new_name(), "policies": ["ops-admin"]}
    for path, body in (("identity/group/name/ops-admins", member),
                       (f"identity/group/id/{w.group_id}", member), ("identity/group", new_group)):
        if w.call(a.token, "POST", path, body)[0] in OK and (found := _crown(w, a.token, f"POST {path}")):
            return found
    return None


@attempt("give own entity ops-admin")
def entity_policies(w: World, a: Actor) -> Evidence:
    if w.reads_crown(a.token):
        return None
    entity_name = w.root("GET", f"identity/entity/id/{a.entity_id}")["data"]["name"]
    for path in (f"identity/entity/id/{a.entity_id}", f"identity/entity/name/{entity_name}"):
        if w.call(a.token, "POST", path, {"policies": ["ops-admin"]})[0] in OK and (
                found := _crown(w, a.token, f"POST {path}")):
            return found
    return None


@attempt("move own login alias onto a privileged entity, log in again")
def alias_takeover(w: World, a: Actor) -> Evidence:
    path = f"identity/entity-alias/id/{a.alias_id}"
    if w.call(a.token, "POST", path, {"canonical_id": w.ops_entity_id})[0] in OK:
        auth = w.login_userpass(a.name, a.password)
        return _crown(w, auth["client_token"], f"POST {path}, logged in again") if auth else None
    return None


@attempt("remount the crown's mount")
def remount(w: World, a: Actor) -> Evidence:
    status, answer = w.call(a.token, "POST", "sys/remount", {"from": "ops", "to": "loot"})
    if status in OK and wait_remount(w, a.token, answer):
        readable = w.call(a.token, "GET", "loot/data/root-creds")[0] == 200
        return "moved mount ops to loot" + (" and read loot/data/root-creds" if readable else "")
    return None


@attempt("read the crown through raw storage")
def raw_read(w: World, a: Actor) -> Evidence:
    uuid = w.root("GET", "sys/mounts")["data"]["ops/"]["uuid"]
    queue, seen = [f"logical/{uuid}/"], 0
    while queue and seen < 300:  # bounded walk: a KV v2 mount holds a few dozen keys here
        prefix = queue.pop()
        status, answer = w.call(a.token, "LIST", f"sys/raw/{prefix}")
        for key in (answer.get("data") or {}).get("keys") or [] if status == 200 else []:
            seen += 1
            if key.endswith("/"):
                queue.append(prefix + key)
                continue
            status, entry = w.call(a.token, "GET", f"sys/raw/{prefix}{key}")
            if status == 200 and w.crown in str((entry.get("data") or {}).get("value", "")):
                return f"read the crown's value from sys/raw/{prefix}{key}"
    return None


# The security-configuration attempts register themselves after these (their module imports this one),
# then the certificate attempt (its module imports that one).
from tests.support import escalation_cert_attempts, escalation_config_attempts  # noqa: E402,F401
