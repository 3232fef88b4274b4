"""A real Vault set up like the shipped stack, plus the privileged targets an attacker would aim at.

Used by tests/engines/test_escalation_oracle.py: a token holding ONLY one corpus policy tries every
escalation in tests/support/escalation_attempts.py against this Vault, and the world is put back after each
policy (`reset`), so one server serves the whole corpus.

What is set up (all by the root token):

* the shipped stack's shape: userpass at `userpass`, approle at `approle`, kubernetes auth at `kubernetes`,
  KV v2 `apps` with one folder per team (billing, reports), `pki-root` (root CA) signing `pki-int`
  (intermediate) with role `internal` for *.internal.example, the AWS engine with role `app-s3`, a database
  engine, token roles `ci` (no allowed policies: the caller's own subset) and `ops` (allows `ops-admin`);
* jwt auth at `jwt` trusting one identity provider, with roles `billing-api` and `ops-ci` (ops-admin);
* the crown secret `ops/data/root-creds` in its own KV v2 mount, readable only through policy `ops-admin`,
  which these hold: userpass user `ops-root`, approle role `deployer`, kubernetes role `ops-deployer`, jwt
  role `ops-ci`, token
  role `ops`, identity group `ops-admins` and entity `ops-entity`;
* sacrificial objects to disable or re-point: KV mount `spare`, auth mount `spare-auth`, audit device `main`;
* a victim token (an approle login of `deployer`) whose revocation by the holder counts as escalation;
* a stand-in for the Kubernetes TokenReview API (tests/support/escalation_kube.py): the configured
  "cluster" authenticates only the attacker's own service-account token; the "attacker's" endpoint, which a
  holder may re-point the mount to, authenticates whatever a token claims.

Vault is a file-storage server (tests/support/vault.py) with `raw_storage_endpoint` and a plugin directory
added to its config, so sys/raw and the plugin catalog can be tried for real, and sealing can be undone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import pathlib
import secrets
import shutil
import tempfile
import time
from typing import Any

from tests.support import vault as vault_support
from tests.support.escalation_kube import JwtIssuer, TokenReviewStub
from tests.support.vault import JSON, VaultError, VaultFileServer

OPS_ADMIN_HCL = 'path "ops/data/*" {\n  capabilities = ["read"]\n}\n'
BILLING_READER_HCL = 'path "apps/data/billing/*" {\n  capabilities = ["read"]\n}\n'
CROWN_PATH = "ops/data/root-creds"
TEAM_SECRETS = {"billing/db": "billing", "reports/smtp": "reports"}
ATTACKER_SA = ("billing", "billing-api")  # the holder's own workload identity in the cluster
PLUGIN_NAME = "oracle-plugin"

# Base objects (what reset() keeps or puts back); anything else an attempt created is removed.
SECRET_MOUNTS = {"apps": "kv", "ops": "kv", "spare": "kv", "pki-root": "pki", "pki-int": "pki", "aws": "aws",
                 "database": "database"}
AUTH_MOUNTS = {"userpass": "userpass", "approle": "approle", "kubernetes": "kubernetes", "jwt": "jwt",
               "spare-auth": "userpass"}
TUNE = {"default_lease_ttl": "3600s", "max_lease_ttl": "86400s"}
PKI_ROLE = {"allowed_domains": ["internal.example"], "allow_subdomains": True, "allow_bare_domains": False,
            "allow_any_name": False, "allow_wildcard_certificates": False, "key_type": "ec",
            "key_bits": 256, "ttl": "1h", "max_ttl": "24h"}
AWS_ROLE = {"credential_type": "iam_user",
            "policy_document": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                               '"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::example-app-data/*"]}]}'}
AWS_ROOT = {"access_key": "AKIAORACLEBASE000000", "secret_key": "base-secret", "region": "eu-west-2"}


@dataclasses.dataclass
class Actor:
    """The holder of one corpus policy: a userpass user whose token carries only that policy."""

    name: str
    policy: str
    hcl: str
    password: str
    token: str
    entity_id: str
    alias_id: str


class World:
    """The configured Vault and the facts an attacker is assumed to know (ids, role ids: not secrets)."""

    def __init__(self, vault: VaultFileServer, kube: TokenReviewStub, workdir: pathlib.Path) -> None:
        self.vault = vault
        self.kube = kube
        self.idp = JwtIssuer()  # the provider jwt auth trusts; the holder has its token for `billing-api`
        self.workdir = workdir
        self.crown = ""
        self.userpass_accessor = ""
        self.deployer_role_id = ""
        self.group_id = ""
        self.ops_entity_id = ""
        self.victim_token = ""
        self.plugin_sha = ""
        self.dirty = True

    # --- raw calls ----------------------------------------------------------------------------------------

    def call(self, token: str, method: str, path: str, body: JSON | None = None) -> tuple[int, JSON]:
        """One API call as `token`; (status, body). Never raises on an HTTP error: refusals are data here.

        A write accepted from anyone but root marks the world dirty: only then does reset() have work."""
        status, answer = vault_support._http(self.vault.addr, method, path, body, token, timeout=20.0)
        if token and token != self.vault.token and method not in ("GET", "LIST") and status in (200, 204):
            self.dirty = True
        return status, answer

    def root(self, method: str, path: str, body: JSON | None = None,
             ok: tuple[int, ...] = (200, 204)) -> JSON:
        return self.vault.request(method, path, body, ok=ok)

    def login_userpass(self, user: str, password: str, mount: str = "userpass") -> JSON | None:
        status, body = self.call("", "POST", f"auth/{mount}/login/{user}", {"password": password})
        return body.get("auth") if status == 200 else None

    def token_alive(self, token: str) -> bool:
        return self.call(token, "GET", "auth/token/lookup-self")[0] == 200

    def reads_crown(self, token: str) -> bool:
        """Whether `token` reads the crown secret right now (and gets its real value)."""
        status, body = self.call(token, "GET", CROWN_PATH)
        return status == 200 and body.get("data", {}).get("data", {}).get("value") == self.crown

    # --- actors -------------------------------------------------------------------------------------------

    def new_actor(self, policy: str, hcl: str) -> Actor:
        """Write `policy`, create a user holding only it (no `default`), log in; the token is the actor's."""
        name = f"holder-{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(18)
        self.root("PUT", f"sys/policies/acl/{policy}", {"policy": hcl})
        self.root("POST", f"auth/userpass/users/{name}", {
            "password": password, "token_policies": [policy], "token_no_default_policy": True,
            "token_ttl": "20m"})
        auth = self.login_userpass(name, password)
        if auth is None:
            raise VaultError(f"the holder of {policy} could not log in")
        entity = self.root("GET", f"identity/entity/id/{auth['entity_id']}")["data"]
        return Actor(name, policy, hcl, password, auth["client_token"], auth["entity_id"],
                     entity["aliases"][0]["id"])

    def drop_actor(self, actor: Actor) -> None:
        self.root("POST", "auth/token/revoke", {"token": actor.token}, ok=(200, 204, 400, 403))
        self.root("DELETE", f"auth/userpass/users/{actor.name}")
        self.root("DELETE", f"identity/entity/id/{actor.entity_id}")
        self.root("DELETE", f"sys/policies/acl/{actor.policy}")

    # --- setup --------------------------------------------------------------------------------------------

    def setup(self) -> None:
        """Everything in the module docstring, once."""
        r = self.root
        r("PUT", "sys/policies/acl/ops-admin", {"policy": OPS_ADMIN_HCL})
        r("PUT", "sys/policies/acl/billing-reader", {"policy": BILLING_READER_HCL})
        for path, kind in SECRET_MOUNTS.items():
            options = {"version": "2"} if kind == "kv" else {}
            r("POST", f"sys/mounts/{path}", {"type": kind, "options": options,
                                             "config": {"max_lease_ttl": "87600h"}})
        for path, kind in AUTH_MOUNTS.items():
            r("POST", f"sys/auth/{path}", {"type": kind})
        self.userpass_accessor = r("GET", "sys/auth")["data"]["userpass/"]["accessor"]
        self.crown = secrets.token_urlsafe(24)
        self._wait_kv("ops")
        r("POST", CROWN_PATH, {"data": {"value": self.crown}})
        for name, team in TEAM_SECRETS.items():
            self._wait_kv("apps")
            r("POST", f"apps/data/{name}", {"data": {"value": f"{team}-{secrets.token_hex(8)}"}})
        self._setup_pki()
        self._setup_approle()
        plugin_dir = self.workdir / "plugins"
        self.plugin_sha = hashlib.sha256((plugin_dir / PLUGIN_NAME).read_bytes()).hexdigest()
        r("POST", "identity/entity/name/ops-entity", {"policies": ["ops-admin"]})
        self.ops_entity_id = r("GET", "identity/entity/name/ops-entity")["data"]["id"]
        self.reset()
        self.group_id = r("GET", "identity/group/name/ops-admins")["data"]["id"]

    def _wait_kv(self, mount: str) -> None:
        # A fresh KV v2 mount upgrades itself in the background and answers 400 meanwhile.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.call(self.vault.token, "GET", f"{mount}/config")[0] == 200:
                return
            time.sleep(0.05)
        raise VaultError(f"KV v2 mount {mount} never became ready")

    def _setup_pki(self) -> None:
        r = self.root
        r("POST", "pki-root/root/generate/internal", {"common_name": "Oracle Root CA", "key_type": "ec",
                                                      "key_bits": 256, "ttl": "8760h"})
        csr = r("POST", "pki-int/intermediate/generate/internal", {
            "common_name": "Oracle Intermediate CA", "key_type": "ec", "key_bits": 256})["data"]["csr"]
        cert = r("POST", "pki-root/root/sign-intermediate", {"csr": csr, "format": "pem_bundle",
                                                            "ttl": "4380h"})["data"]["certificate"]
        r("POST", "pki-int/intermediate/set-signed", {"certificate": cert})

    def _setup_approle(self) -> None:
        self._reset_approle()
        self.deployer_role_id = self.root("GET", "auth/approle/role/deployer/role-id")["data"]["role_id"]

    # --- reset --------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Put every base object back and remove whatever an attempt added (idempotent)."""
        if self.vault.status() == 503:
            self.vault.unseal()
        r = self.root
        r("PUT", "sys/policies/acl/ops-admin", {"policy": OPS_ADMIN_HCL})
        self._reset_mounts()
        r("POST", "auth/userpass/users/ops-root", {"password": secrets.token_urlsafe(18),
                                                   "token_policies": ["ops-admin"]})
        self._prune_list("auth/userpass/users", keep=lambda n: n == "ops-root" or n.startswith("holder-"),
                         delete=lambda n: f"auth/userpass/users/{n}")
        self._reset_approle()
        self._reset_kubernetes()
        self._reset_jwt()
        r("POST", "auth/token/roles/ci", {"allowed_policies": [], "orphan": False})
        r("POST", "auth/token/roles/ops", {"allowed_policies": ["ops-admin"], "orphan": False})
        self._prune_list("auth/token/roles", keep=lambda n: n in ("ci", "ops"),
                         delete=lambda n: f"auth/token/roles/{n}")
        r("POST", "identity/group/name/ops-admins", {"policies": ["ops-admin"], "member_entity_ids": [],
                                                     "type": "internal"})
        self._prune_list("identity/group/name", keep=lambda n: n == "ops-admins",
                         delete=lambda n: f"identity/group/name/{n}")
        if self.ops_entity_id:
            r("POST", f"identity/entity/id/{self.ops_entity_id}", {"policies": ["ops-admin"]})
            entity = r("GET", f"identity/entity/id/{self.ops_entity_id}")["data"]
            for alias in entity.get("aliases") or []:
                r("DELETE", f"identity/entity-alias/id/{alias['id']}")
        r("POST", "pki-int/roles/internal", PKI_ROLE)
        self._prune_list("pki-int/roles", keep=lambda n: n == "internal",
                         delete=lambda n: f"pki-int/roles/{n}")
        r("POST", "aws/config/root", AWS_ROOT)
        r("POST", "aws/roles/app-s3", AWS_ROLE)
        self._prune_list("aws/roles", keep=lambda n: n == "app-s3", delete=lambda n: f"aws/roles/{n}")
        self._prune_list("database/config", keep=lambda n: False, delete=lambda n: f"database/config/{n}")
        audit = r("GET", "sys/audit")["data"]
        for path in audit:
            if path != "main/":
                r("DELETE", f"sys/audit/{path.rstrip('/')}")
        if "main/" not in audit:
            r("PUT", "sys/audit/main", {"type": "file", "options": {"file_path": "discard"}})
        if self.plugin_sha:
            r("DELETE", f"sys/plugins/catalog/secret/{PLUGIN_NAME}", ok=(200, 204, 404))
        if not self.victim_token or not self.token_alive(self.victim_token):
            self.victim_token = self._approle_login(self.deployer_role_id, self._deployer_secret_id())
        self.dirty = False

    def reset_if_dirty(self) -> None:
        if self.dirty or self.vault.status() != 200:
            self.reset()

    def _reset_mounts(self) -> None:
        r = self.root
        mounts = r("GET", "sys/mounts")["data"]
        if "ops/" not in mounts:  # remounted away: move it back (the crown lives there)
            for path in mounts:
                if mounts[path].get("type") == "kv" and path.rstrip("/") not in SECRET_MOUNTS:
                    self.remount(path.rstrip("/"), "ops")
                    break
            mounts = r("GET", "sys/mounts")["data"]
        for path, info in mounts.items():
            name = path.rstrip("/")
            if name not in SECRET_MOUNTS and info.get("type") not in ("system", "identity", "cubbyhole",
                                                                        "token"):
                r("DELETE", f"sys/mounts/{name}")
        if "spare/" not in mounts:
            r("POST", "sys/mounts/spare", {"type": "kv", "options": {"version": "2"}})
        for name in ("apps", "ops", "spare"):
            r("POST", f"sys/mounts/{name}/tune", TUNE)
        auths = r("GET", "sys/auth")["data"]
        for path in auths:
            if path.rstrip("/") not in AUTH_MOUNTS and path != "token/":
                r("DELETE", f"sys/auth/{path.rstrip('/')}")
        if "spare-auth/" not in auths:
            r("POST", "sys/auth/spare-auth", {"type": "userpass"})
        for name in ("userpass", "approle", "kubernetes"):
            r("POST", f"sys/auth/{name}/tune", TUNE)

    def remount(self, source: str, target: str) -> None:
        """sys/remount as root, waiting for the (asynchronous) migration to finish."""
        migration = self.root("POST", "sys/remount", {"from": source, "to": target})
        wait_remount(self, self.vault.token, migration)

    def _reset_approle(self) -> None:
        body: dict[str, Any] = {"token_policies": ["ops-admin"], "bind_secret_id": True,
                                "secret_id_bound_cidrs": [], "token_bound_cidrs": [], "token_ttl": "20m"}
        self.root("POST", "auth/approle/role/deployer", body)
        if self.deployer_role_id:
            self.root("POST", "auth/approle/role/deployer/role-id", {"role_id": self.deployer_role_id})
        self._prune_list("auth/approle/role", keep=lambda n: n == "deployer",
                         delete=lambda n: f"auth/approle/role/{n}")

    def _deployer_secret_id(self) -> str:
        return str(self.root("POST", "auth/approle/role/deployer/secret-id")["data"]["secret_id"])

    def _approle_login(self, role_id: str, secret_id: str | None) -> str:
        body = {"role_id": role_id} | ({"secret_id": secret_id} if secret_id else {})
        return str(self.root("POST", "auth/approle/login", body)["auth"]["client_token"])

    def _reset_kubernetes(self) -> None:
        r = self.root
        r("POST", "auth/kubernetes/config", {"kubernetes_host": self.kube.cluster_url,
                                             "disable_local_ca_jwt": True})
        r("POST", "auth/kubernetes/role/billing-api", {
            "bound_service_account_names": [ATTACKER_SA[1]],
            "bound_service_account_namespaces": [ATTACKER_SA[0]],
            "token_policies": ["billing-reader"], "token_ttl": "20m"})
        r("POST", "auth/kubernetes/role/ops-deployer", {
            "bound_service_account_names": ["ops-deployer"], "bound_service_account_namespaces": ["ops"],
            "token_policies": ["ops-admin"], "token_ttl": "20m"})
        self._prune_list("auth/kubernetes/role", keep=lambda n: n in ("billing-api", "ops-deployer"),
                         delete=lambda n: f"auth/kubernetes/role/{n}")

    def _reset_jwt(self) -> None:
        self.root("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [self.idp.public_pem]})
        for role, policy in (("billing-api", "billing-reader"), ("ops-ci", "ops-admin")):
            self.root("POST", f"auth/jwt/role/{role}", {
                "role_type": "jwt", "user_claim": "sub", "bound_subject": role, "bound_audiences": ["vault"],
                "token_policies": [policy], "token_ttl": "20m"})
        self._prune_list("auth/jwt/role", keep=lambda n: n in ("billing-api", "ops-ci"),
                         delete=lambda n: f"auth/jwt/role/{n}")

    def _prune_list(self, path: str, keep: Any, delete: Any) -> None:
        keys = self.root("LIST", path, ok=(200, 404)).get("data", {}).get("keys") or []
        for key in keys:
            if not keep(key):
                self.root("DELETE", delete(key))


def wait_remount(world: World, token: str, migration: JSON, timeout: float = 30.0) -> bool:
    """Poll sys/remount/status/<id> (as `token`) until the migration succeeded (True) or failed (False)."""
    migration_id = (migration.get("data") or migration).get("migration_id")
    if not migration_id:
        return True  # older servers remount synchronously
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = world.call(world.vault.token, "GET", f"sys/remount/status/{migration_id}")
        state = (body.get("data") or {}).get("migration_info", {}).get("status") if status == 200 else None
        if state == "success":
            return True
        if state == "failure":
            return False
        time.sleep(0.05)
    raise VaultError(f"remount {migration_id} did not finish in {timeout:.0f}s")


_EXTRA_CONFIG = """
raw_storage_endpoint = true
plugin_directory     = "{plugins}"
"""


@contextlib.contextmanager
def oracle_world(binary: pathlib.Path) -> Any:
    """A file-storage Vault with raw storage and a plugin directory, set up as a World; always torn down."""
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="vault-oracle-"))
    plugins = workdir / "plugins"
    plugins.mkdir(mode=0o700)
    (plugins / PLUGIN_NAME).write_bytes(b"#!/bin/false\n")  # catalogued, never run
    (plugins / PLUGIN_NAME).chmod(0o700)
    vault: VaultFileServer | None = None
    kube = TokenReviewStub(ATTACKER_SA)
    try:
        last = ""
        for _ in range(3):  # the port may be taken between choosing and binding it (as start_file_server)
            vault = VaultFileServer(binary, workdir / "vault", vault_support.free_port(), own_workdir=False,
                                    log_level="warn")
            with vault.config.open("a", encoding="utf-8") as config:
                config.write(_EXTRA_CONFIG.format(plugins=plugins))
            try:
                vault.start()
                vault.initialize()
                break
            except VaultError as err:
                last = str(err)
                vault.stop()
                shutil.rmtree(workdir / "vault", ignore_errors=True)
                vault = None
        if vault is None:
            raise VaultError(f"the oracle Vault did not start after 3 tries: {last}")
        world = World(vault, kube, workdir)
        world.setup()
        yield world
    finally:
        if vault is not None:
            vault.close()
        kube.close()
        shutil.rmtree(workdir, ignore_errors=True)
