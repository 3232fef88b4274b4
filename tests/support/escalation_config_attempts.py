"""Escalation attempts on Vault's security configuration (see tests/support/escalation_attempts.py).

Each is accepted only when Vault took the request AND root reads the change back: the mount table, a mount's
tuning, audit devices, the plugin catalog, another principal's token, an orphan token, a secrets engine's
configuration, a certificate signed outside the role, the seal. Registered after the gains, in this order;
sealing comes last because it interrupts everything (it is undone at once).
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.escalation_attempts import OK, Evidence, attempt, client_token, new_name
from tests.support.escalation_world import PLUGIN_NAME, Actor, World
from tests.support.vault import JSON


def _changed(w: World, a: Actor, method: str, path: str, body: JSON | None,
             check: Callable[[], bool]) -> Evidence:
    """Evidence when Vault accepted the request and root sees the change."""
    if w.call(a.token, method, path, body)[0] in OK and check():
        return f"{method} {path} accepted and in effect"
    return None


@attempt("enable an auth method or a secrets engine")
def enable_mount(w: World, a: Actor) -> Evidence:
    tag = new_name()
    return (_changed(w, a, "POST", f"sys/auth/{tag}", {"type": "userpass"},
                     lambda: f"{tag}/" in w.root("GET", "sys/auth")["data"])
            or _changed(w, a, "POST", f"sys/mounts/{tag}", {"type": "kv"},
                        lambda: f"{tag}/" in w.root("GET", "sys/mounts")["data"]))


def _ttl_is(w: World, path: str, seconds: int) -> Callable[[], bool]:
    return lambda: bool(w.root("GET", path)["data"]["default_lease_ttl"] == seconds)


@attempt("tune a mount")
def tune_mount(w: World, a: Actor) -> Evidence:
    body = {"default_lease_ttl": "7777s"}
    for path, read in (("sys/mounts/apps/tune", "sys/mounts/apps/tune"),
                       ("sys/auth/userpass/tune", "sys/auth/userpass/tune"),
                       ("sys/mounts/auth/userpass/tune", "sys/auth/userpass/tune")):
        if found := _changed(w, a, "POST", path, body, _ttl_is(w, read, 7777)):
            return found
    return None


@attempt("disable a mount")
def disable_mount(w: World, a: Actor) -> Evidence:
    return (_changed(w, a, "DELETE", "sys/mounts/spare", None,
                     lambda: "spare/" not in w.root("GET", "sys/mounts")["data"])
            or _changed(w, a, "DELETE", "sys/auth/spare-auth", None,
                        lambda: "spare-auth/" not in w.root("GET", "sys/auth")["data"]))


@attempt("enable or disable an audit device")
def audit(w: World, a: Actor) -> Evidence:
    tag = new_name()
    # Each device needs its own file_path ("discard" is taken by `main`): the attacker's own file.
    target = {"type": "file", "options": {"file_path": str(w.workdir / f"{tag}.log")}}
    return (_changed(w, a, "PUT", f"sys/audit/{tag}", target,
                     lambda: f"{tag}/" in w.root("GET", "sys/audit")["data"])
            or _changed(w, a, "DELETE", "sys/audit/main", None,
                        lambda: "main/" not in w.root("GET", "sys/audit")["data"]))


@attempt("register a plugin")
def plugin(w: World, a: Actor) -> Evidence:
    path = f"sys/plugins/catalog/secret/{PLUGIN_NAME}"
    return _changed(w, a, "PUT", path, {"sha256": w.plugin_sha, "command": PLUGIN_NAME},
                    lambda: w.call(w.vault.token, "GET", path)[0] == 200)


@attempt("revoke another principal's token")
def revoke_others(w: World, a: Actor) -> Evidence:
    for path in ("sys/leases/revoke-prefix/auth/approle/login", "sys/leases/revoke-force/auth/approle/login"):
        if w.call(a.token, "PUT", path)[0] in OK and not w.token_alive(w.victim_token):
            return f"PUT {path} revoked the deployer's token"
    return None


@attempt("orphan token (outlives the holder's revocation)")
def orphan_token(w: World, a: Actor) -> Evidence:
    ask = {"policies": [a.policy], "no_default_policy": True, "ttl": "5m"}
    for path, extra in (("auth/token/create-orphan", {}), ("auth/token/create", {"no_parent": True})):
        status, answer = w.call(a.token, "POST", path, ask | extra)
        token = client_token(answer) if status == 200 else ""
        if token:
            info = w.root("POST", "auth/token/lookup", {"token": token})["data"]
            w.root("POST", "auth/token/revoke", {"token": token})
            if info.get("orphan"):
                return f"POST {path} gave an orphan token"
    return None


OUTSIDE_NAME = "vault.ops.example"  # no role allows it


def _csr(common_name: str, ca: bool) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


@attempt("widen a PKI role, issue a certificate outside it")
def pki_role(w: World, a: Actor) -> Evidence:
    issue = {"common_name": OUTSIDE_NAME, "ttl": "5m"}
    wide = {"allowed_domains": ["internal.example", "ops.example"], "allow_subdomains": True,
            "key_type": "ec", "key_bits": 256}
    for role in ("internal", new_name()):
        if w.call(a.token, "POST", f"pki-int/roles/{role}", wide)[0] in OK:
            if w.call(a.token, "POST", f"pki-int/issue/{role}", issue)[0] == 200:
                return f"widened pki-int/roles/{role}, issued {OUTSIDE_NAME}"
            return f"POST pki-int/roles/{role} accepted (the role now allows ops.example)"
    return None


@attempt("get a CA certificate or an out-of-role certificate signed")
def pki_sign(w: World, a: Actor) -> Evidence:
    ca_csr, leaf_csr = _csr("Attacker CA", True), _csr(OUTSIDE_NAME, False)
    for path, csr in (("pki-root/root/sign-intermediate", ca_csr), ("pki-int/root/sign-intermediate", ca_csr),
                      ("pki-int/sign-verbatim", leaf_csr), ("pki-int/sign-verbatim/internal", leaf_csr)):
        status, answer = w.call(a.token, "POST", path, {"csr": csr, "ttl": "1h", "common_name": "Evil CA"})
        if status == 200 and (answer.get("data") or {}).get("certificate"):
            return f"POST {path} signed the attacker's CSR"
    return None


@attempt("re-point or widen the AWS engine")
def aws(w: World, a: Actor) -> Evidence:
    evil_root = {"access_key": "AKIAATTACKER0000000", "secret_key": "x", "region": "eu-west-2"}
    wide = {"credential_type": "iam_user",
            "policy_document": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",'
                               '"Resource":"*"}]}'}
    return (_changed(w, a, "POST", "aws/config/root", evil_root,
                     lambda: w.root("GET", "aws/config/root")["data"]["access_key"] == "AKIAATTACKER0000000")
            or _changed(w, a, "POST", "aws/roles/app-s3", wide,
                        lambda: '"Action":"*"' in w.root("GET", "aws/roles/app-s3")["data"]["policy_document"]
                        .replace(" ", ""))
            or _changed(w, a, "POST", f"aws/roles/{new_name()}", wide, lambda: True))


@attempt("configure a database connection")
def database(w: World, a: Actor) -> Evidence:
    tag = new_name()
    body = {"plugin_name": "postgresql-database-plugin", "verify_connection": False, "allowed_roles": ["*"],
            "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/postgres",
            "username": "attacker", "password": "x"}
    return _changed(w, a, "POST", f"database/config/{tag}", body,
                    lambda: w.call(w.vault.token, "GET", f"database/config/{tag}")[0] == 200)


@attempt("seal Vault")
def seal(w: World, a: Actor) -> Evidence:
    if w.call(a.token, "PUT", "sys/seal")[0] in OK and w.vault.status() == 503:
        w.vault.unseal()
        return "PUT sys/seal sealed Vault"
    return None
