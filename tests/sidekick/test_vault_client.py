"""The socket HTTP client: keep-alive, chunked bodies, errors without secrets, TLS verification."""

from __future__ import annotations

import datetime
import json
import pathlib
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sidekick.errors import VaultRequestError
from sidekick.vault import VaultHttp

SEEN: list[dict[str, str]] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, chunked: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        SEEN.append({"path": self.path, "token": self.headers.get("X-Vault-Token", ""),
                     "port": str(self.client_address[1])})
        if self.path.startswith("/v1/chunked"):
            self._send(200, json.dumps({"data": {"k": "v" * 50}}).encode(), chunked=True)
        elif self.path.startswith("/v1/denied"):
            self._send(403, b'{"errors": ["permission denied"]}')
        elif self.path.startswith("/v1/empty"):
            self._send(204, b"")
        else:
            self._send(200, json.dumps({"data": {"path": self.path}, "lease_id": "l1", "lease_duration": 60,
                                        "renewable": True}).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self._send(200, json.dumps({"data": {"echo": body}}).encode())

    def log_message(self, *args: object) -> None:
        pass


def serve(tls: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if tls else "http"
    return server, f"{scheme}://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def http() -> Iterator[str]:
    server, url = serve()
    yield url
    server.shutdown()


def test_requests_keep_alive_and_bodies(http: str) -> None:
    SEEN.clear()
    client = VaultHttp(http)
    client.token = "tok-123456"
    secret = client.read("kv/data/a b", query={"version": 2})
    assert secret is not None and secret.lease_id == "l1" and secret.lease_duration == 60 and secret.renewable
    assert secret.data["path"] == "/v1/kv/data/a%20b?version=2"
    assert client.read("chunked") is not None and client.read("chunked").data == {"k": "v" * 50}  # type: ignore[union-attr]
    assert client.read("empty") is None
    echoed = client.write("pki/issue/x", {"common_name": "a"})
    assert echoed is not None and echoed.data == {"echo": {"common_name": "a"}}
    assert {s["port"] for s in SEEN} == {SEEN[0]["port"]}  # one connection, kept alive
    assert SEEN[0]["token"] == "tok-123456"
    client.close()


def test_errors_name_status_not_secrets(http: str) -> None:
    client = VaultHttp(http)
    client.token = "tok-very-secret"
    with pytest.raises(VaultRequestError) as info:
        client.read("denied/path")
    assert info.value.status == 403 and info.value.permission_denied
    assert "permission denied" in str(info.value) and "tok-very-secret" not in str(info.value)
    dead = VaultHttp("http://127.0.0.1:1")
    with pytest.raises(VaultRequestError) as down:
        dead.read("x")
    assert down.value.status == 0 and down.value.retryable and "cannot reach Vault" in str(down.value)


def _tls_pair(tmp_path: pathlib.Path) -> tuple[ssl.SSLContext, pathlib.Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, pem_key = tmp_path / "ca.crt", tmp_path / "ca.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, pem_key)
    return ctx, crt


def test_tls_verification(tmp_path: pathlib.Path) -> None:
    ctx, ca = _tls_pair(tmp_path)
    server, url = serve(ctx)
    try:
        assert VaultHttp(url, ca_cert=str(ca)).read("x") is not None
        with pytest.raises(VaultRequestError, match="cannot reach Vault"):
            VaultHttp(url).read("x")  # the system CAs do not trust it
        assert VaultHttp(url, skip_verify=True).read("x") is not None
    finally:
        server.shutdown()
