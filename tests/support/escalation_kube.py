"""Identity providers for the escalation oracle: a Kubernetes TokenReview endpoint and a JWT issuer.

Vault's kubernetes auth method sends the login JWT to `<kubernetes_host>/apis/authentication.k8s.io/v1/
tokenreviews` and trusts the answer's `status.authenticated` and `status.user` (username
`system:serviceaccount:<namespace>:<name>` and uid), checking that they match the JWT's own claims
(vault-plugin-auth-kubernetes, token_review.go and path_login.go). One server answers under two prefixes:

* `/cluster`: the legitimate cluster the mount is configured with. It authenticates exactly one token, the
  attacker's own workload's service-account token, so logging in to a role bound elsewhere fails as it would;
* `/evil`: what an attacker re-points the mount to. It authenticates any token, as whoever it claims to be.

The real kube-apiserver (tests/support/kube.py) is not needed: what is under test is whether Vault lets a
policy holder re-point the mount or bind a role, and both endpoints are fixed, deterministic and local.

`JwtIssuer` signs real ES256 JWTs for Vault's jwt auth method (an OIDC provider's role): the legitimate
issuer's public key is what the mount trusts; an attacker's issuer is what a holder may re-point it to.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
MAX_BODY = 64 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def service_account_jwt(namespace: str, name: str) -> str:
    """A JWT with a service account's claims (legacy and projected forms) and a meaningless signature.

    Vault verifies no signature when the mount has no `pem_keys`: it relies on the TokenReview answer.
    """
    uid = f"uid-{namespace}-{name}"
    claims = {
        "iss": "kubernetes/serviceaccount",
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": uid,
        "kubernetes.io/serviceaccount/secret.name": f"{name}-token",
        "nonce": secrets.token_hex(8),
    }
    header = {"alg": "RS256", "typ": "JWT"}
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                     _b64(secrets.token_bytes(64))])


def _claims(token: str) -> dict[str, Any]:
    try:
        parsed = json.loads(_unb64(token.split(".")[1]))
    except (IndexError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


class TokenReviewStub:
    """The two TokenReview endpoints on one 127.0.0.1 port; `close()` stops it."""

    def __init__(self, own_account: tuple[str, str]) -> None:
        self.own_token = service_account_jwt(*own_account)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                try:
                    review = json.loads(self.rfile.read(length) or b"{}")
                    token = str(review.get("spec", {}).get("token", ""))
                except ValueError:
                    token = ""
                status = stub.review(self.path, token)
                if status is None:
                    self.send_error(404)
                    return
                body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                   "status": status}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # tokens must not reach the test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.cluster_url, self.evil_url = f"{base}/cluster", f"{base}/evil"
        self._thread = threading.Thread(target=self._server.serve_forever, name="tokenreview", daemon=True)
        self._thread.start()

    def review(self, path: str, token: str) -> dict[str, Any] | None:
        """The TokenReview status for `token` at `path`, or None for an unknown path."""
        if path not in ("/cluster" + REVIEW_PATH, "/evil" + REVIEW_PATH):
            return None
        if path.startswith("/cluster") and token != self.own_token:
            return {"authenticated": False, "error": "token not issued by this cluster"}
        claims = _claims(token)
        namespace = claims.get("kubernetes.io/serviceaccount/namespace")
        name = claims.get("kubernetes.io/serviceaccount/service-account.name")
        if not namespace or not name:
            return {"authenticated": False, "error": "not a service-account token"}
        return {"authenticated": True, "audiences": [],
                "user": {"username": f"system:serviceaccount:{namespace}:{name}",
                         "uid": claims.get("kubernetes.io/serviceaccount/service-account.uid", ""),
                         "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]}}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class JwtIssuer:
    """An ES256 key pair that signs JWTs (RFC 7515 compact form, raw r||s signature as JOSE requires)."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.public_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def token(self, subject: str, audience: str = "vault") -> str:
        now = int(time.time())
        claims = {"iss": "https://idp.example", "sub": subject, "aud": audience, "iat": now, "nbf": now - 5,
                  "exp": now + 300}
        signing_input = ".".join([_b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode()),
                                  _b64(json.dumps(claims).encode())])
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
