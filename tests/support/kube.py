"""A real Kubernetes API server on 127.0.0.1 for tests, benchmarks and the demo.

`start_kube()` runs etcd, kube-apiserver and a kube-controller-manager limited to the controllers a
cluster without nodes still needs (namespace deletion, each namespace's `default` ServiceAccount, garbage
collection, the `kube-root-ca.crt` ConfigMap). No kubelet or scheduler runs: Deployments and Jobs are
stored and validated, never run.

Authentication: a static admin token (group `system:masters`) for the test client, and service-account
tokens signed by a key generated here, so TokenRequest and TokenReview work as in a real cluster (Vault's
kubernetes auth method reviews tokens against this server). Authorization is RBAC with the bootstrap
roles, so a token reviewer needs the `system:auth-delegator` binding, as it does in production.

Plain Python (no pytest): the fixture in tests/fixtures/kube.py wraps it. The admin token lives only in
files of mode 0600 inside the private work directory and in memory; it is never logged or put in argv.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support import engines

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CIDR = "10.0.0.0/24"
CLUSTER_NAME = "vaultconf-test"
# Controllers that matter without nodes; the rest (deployment, replicaset, job, ...) would only create
# Pods that nothing schedules.
CONTROLLERS = (
    "namespace-controller",
    "serviceaccount-controller",
    # fills kubernetes.io/service-account-token Secrets (vaultconf's dedicated TokenReview account)
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    "root-ca-certificate-publisher-controller",
)

JSON = dict[str, Any]


class KubeError(RuntimeError):
    """The test API server could not be started or used; the message says what and where to look."""


class KubeAPIError(KubeError):
    """The API server answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: JSON | None) -> None:
        self.status = status
        self.reason = (body or {}).get("reason", "")
        self.body = body or {}
        message = (body or {}).get("message", "")
        super().__init__(f"{method} {path}: HTTP {status} {self.reason}: {message}".rstrip(": "))


def find_engine(name: str) -> pathlib.Path:
    """Engine binary `name` (see tests.support.engines); KubeError when missing."""
    return engines.find_engine(name, KubeError)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (start_kube retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- key material --------------------------------------------------------------------------------------


def _write_private(path: pathlib.Path, data: bytes) -> None:
    """Write `data` atomically with mode 0600 (keys, tokens, kubeconfigs)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class _Pki:
    ca_pem: str
    serving_cert: pathlib.Path
    serving_key: pathlib.Path
    ca_cert: pathlib.Path
    sa_key: pathlib.Path
    sa_pub: pathlib.Path


def _make_pki(workdir: pathlib.Path) -> _Pki:
    """A throwaway CA, a serving certificate for 127.0.0.1 and the in-cluster names, and the
    service-account signing key. The CA key is never written to disk: nothing else gets signed."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{CLUSTER_NAME}-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    serving_key = ec.generate_private_key(ec.SECP256R1())
    service_ip = ipaddress.IPv4Network(SERVICE_CIDR)[1]  # the `kubernetes` Service's cluster IP
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(service_ip),
        x509.DNSName("localhost"),
        *(
            x509.DNSName(n)
            for n in (
                "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            )
        ),
    ]
    serving = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    pki = _Pki(
        ca_pem=ca_pem.decode(),
        serving_cert=workdir / "serving.crt",
        serving_key=workdir / "serving.key",
        ca_cert=workdir / "ca.crt",
        sa_key=workdir / "sa.key",
        sa_pub=workdir / "sa.pub",
    )
    pki.ca_cert.write_bytes(ca_pem)
    pki.serving_cert.write_bytes(serving.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write_private(pki.serving_key, _pem_key(serving_key))
    _write_private(pki.sa_key, _pem_key(sa_key))
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def kubeconfig_document(server: str, ca_pem: str, token: str, namespace: str = "default") -> JSON:
    """A kubeconfig for `server` authenticating with a bearer token (holds the token: keep it private)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": CLUSTER_NAME,
                "context": {"cluster": CLUSTER_NAME, "user": "admin", "namespace": namespace},
            }
        ],
        "current-context": CLUSTER_NAME,
    }


# --- processes -----------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Run in the child before exec: SIGTERM it when the test process dies, so no server outlives it;
    and unblock the stop signals, since a blocked mask (see main) survives exec."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _log_tail(path: pathlib.Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: pathlib.Path

    def failed(self) -> str | None:
        """None while running; otherwise why it stopped, with its log's tail."""
        code = self.popen.poll()
        if code is None:
            return None
        return f"{self.name} exited with status {code}; last lines of {self.log}:\n{_log_tail(self.log)}"

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)


def _spawn(name: str, argv: Sequence[str], workdir: pathlib.Path) -> _Process:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_die_with_parent,
        )
    return _Process(name, popen, log)


def _wait(what: str, check: Any, procs: Iterable[_Process], timeout: float) -> None:
    """Poll `check()` until truthy; fail fast with the log of any process that died meanwhile."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        for proc in procs:
            reason = proc.failed()
            if reason:
                raise KubeError(f"waiting for {what}: {reason}")
        try:
            if check():
                return
        except (OSError, KubeError, ValueError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.log}:\n{_log_tail(p.log)}" for p in procs)
    raise KubeError(f"{what} not ready after {timeout:.0f}s (last error: {last_error or 'none'})\n{logs}")


# Servers still running when the interpreter exits are stopped (a crashed benchmark, a Ctrl-C).
_LIVE: weakref.WeakSet[KubeAPIServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


# --- the server and its client -------------------------------------------------------------------------


@dataclass(eq=False)  # identity semantics: a live server is tracked in a WeakSet
class KubeAPIServer:
    """A running test API server and a minimal JSON client for it (admin credentials)."""

    url: str
    ca_pem: str
    ca_cert: pathlib.Path
    kubeconfig: pathlib.Path
    workdir: pathlib.Path
    startup_seconds: float
    _token: str = field(repr=False)
    _procs: list[_Process] = field(repr=False)
    _ssl: ssl.SSLContext = field(repr=False)
    _remove_workdir: bool = field(default=True, repr=False)

    # -- client

    def request_raw(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> bytes:
        """Call the API as admin (or with `token`); returns the body, raises KubeAPIError on errors."""
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token if token is not None else self._token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            # No proxies: a caller's HTTPS_PROXY must not route 127.0.0.1 traffic elsewhere.
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._ssl)
            )
            with opener.open(req, timeout=timeout) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                decoded = json.loads(raw) if raw else None
            except ValueError:
                decoded = {"message": raw[:200].decode(errors="replace")}
            raise KubeAPIError(method, path, exc.code, decoded) from None

    def request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> JSON:
        """Call the API with a JSON body (or none); returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        raw = self.request_raw(method, path, data, token=token, content_type=content_type, timeout=timeout)
        answer: JSON = json.loads(raw) if raw else {}
        return answer

    def get(self, path: str) -> JSON:
        return self.request("GET", path)

    def create(self, path: str, obj: JSON) -> JSON:
        return self.request("POST", path, obj)

    def delete(self, path: str, *, missing_ok: bool = True) -> None:
        try:
            self.request("DELETE", path)
        except KubeAPIError as exc:
            if not (missing_ok and exc.status == 404):
                raise

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except KubeAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def ensure(self, collection: str, obj: JSON) -> JSON:
        """Create `obj` in `collection`, or return the existing one of the same name."""
        try:
            return self.create(collection, obj)
        except KubeAPIError as exc:
            if exc.status != 409:
                raise
            return self.get(f"{collection}/{obj['metadata']['name']}")

    # -- helpers for the tests

    def kubeconfig_text(self) -> str:
        """The kubeconfig's content (holds the admin token), e.g. for the Pulumi kubernetes provider."""
        return self.kubeconfig.read_text()

    def admin_token(self) -> str:
        """The admin bearer token, for clients that cannot read the kubeconfig. Never log it."""
        return self._token

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> JSON:
        meta: JSON = {"name": name, **({"labels": labels} if labels else {})}
        return self.ensure("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})

    def delete_namespace(self, name: str, *, wait: float = 0.0) -> None:
        """Delete a namespace; with `wait`, until the namespace controller has emptied and removed it."""
        self.delete(f"/api/v1/namespaces/{name}")
        deadline = time.monotonic() + wait
        while wait and self.exists(f"/api/v1/namespaces/{name}"):
            if time.monotonic() > deadline:
                raise KubeError(f"namespace {name} still terminating after {wait:.0f}s")
            time.sleep(0.2)

    def create_service_account(self, namespace: str, name: str) -> JSON:
        return self.ensure(
            f"/api/v1/namespaces/{namespace}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        )

    def request_token(
        self,
        namespace: str,
        service_account: str,
        *,
        audiences: Sequence[str] = (),
        expiration_seconds: int = 3600,
    ) -> str:
        """A service-account token from the TokenRequest API (what a projected token volume holds)."""
        spec: JSON = {"expirationSeconds": expiration_seconds}
        if audiences:
            spec["audiences"] = list(audiences)
        answer = self.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
        )
        return str(answer["status"]["token"])

    def token_review(self, token: str, *, audiences: Sequence[str] = (), as_token: str | None = None) -> JSON:
        """Ask the API server whether `token` is valid; returns the TokenReview status."""
        spec: JSON = {"token": token}
        if audiences:
            spec["audiences"] = list(audiences)
        answer = self.request(
            "POST",
            "/apis/authentication.k8s.io/v1/tokenreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec},
            token=as_token,
        )
        status: JSON = answer.get("status", {})
        return status

    def bind_cluster_role(
        self, binding: str, cluster_role: str, namespace: str, service_account: str
    ) -> JSON:
        """Bind `cluster_role` to a ServiceAccount cluster-wide (system:auth-delegator for a reviewer)."""
        return self.ensure(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": binding},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role
                },
                "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
            },
        )

    # -- lifecycle

    def running(self) -> bool:
        return all(p.failed() is None for p in self._procs)

    def stop(self) -> None:
        """Stop the controller manager, the API server, then etcd; remove the work directory."""
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()
        if self._remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> KubeAPIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_kube(
    *,
    etcd: pathlib.Path | None = None,
    apiserver: pathlib.Path | None = None,
    controller_manager: pathlib.Path | None = None,
    workdir: pathlib.Path | None = None,
    timeout: float = 180.0,
    attempts: int = 3,
) -> KubeAPIServer:
    """Start etcd + kube-apiserver + kube-controller-manager on free 127.0.0.1 ports; wait until ready.

    Binaries default to .engines/bin (then PATH). `workdir` defaults to a private temp directory removed
    by stop(). A port taken between choosing and binding it is retried up to `attempts` times.
    """
    bins = (
        etcd or find_engine("etcd"),
        apiserver or find_engine("kube-apiserver"),
        controller_manager or find_engine("kube-controller-manager"),
    )
    last: KubeError | None = None
    for _ in range(attempts):
        own = workdir is None
        base = pathlib.Path(tempfile.mkdtemp(prefix="kube-")) if workdir is None else workdir
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o700)
        try:
            server = _start_once(*bins, base)
        except KubeError as exc:
            last = exc
            if own:
                shutil.rmtree(base, ignore_errors=True)
            if "address already in use" not in str(exc):
                raise
            continue
        server._remove_workdir = own
        return server
    assert last is not None
    raise last


def _start_once(
    etcd: pathlib.Path, apiserver: pathlib.Path, controller_manager: pathlib.Path, workdir: pathlib.Path
) -> KubeAPIServer:
    started = time.monotonic()
    shutil.rmtree(workdir / "etcd", ignore_errors=True)  # a retry must not find the last try's member
    procs: list[_Process] = []
    try:
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        procs.append(
            _spawn(
                "etcd",
                [
                    str(etcd),
                    "--name=test",
                    f"--data-dir={workdir / 'etcd'}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=test=http://127.0.0.1:{peer_port}",
                    "--log-level=warn",
                    # Throwaway data: fsync only slows every write down on a shared disk.
                    "--unsafe-no-fsync",
                ],
                workdir,
            )
        )
        _wait("etcd", lambda: _etcd_healthy(etcd_url), procs, 60)

        pki = _make_pki(workdir)
        token = secrets.token_urlsafe(32)
        tokens = workdir / "tokens.csv"
        admin = "vaultconf-test-admin"
        _write_private(tokens, f'{token},{admin},{admin},"system:masters"\n'.encode())
        url = f"https://127.0.0.1:{api_port}"
        procs.append(
            _spawn(
                "kube-apiserver",
                [
                    str(apiserver),
                    f"--etcd-servers={etcd_url}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--tls-cert-file={pki.serving_cert}",
                    f"--tls-private-key-file={pki.serving_key}",
                    f"--cert-dir={workdir / 'certs'}",
                    f"--token-auth-file={tokens}",
                    "--authorization-mode=RBAC",
                    f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                    f"--service-account-key-file={pki.sa_pub}",
                    f"--service-account-signing-key-file={pki.sa_key}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    # The `kubernetes` Service's Endpoints may not be a loopback address; nothing here
                    # reaches the API server through that Service anyway.
                    "--endpoint-reconciler-type=none",
                    "--allow-privileged=true",
                    "--profiling=false",
                ],
                workdir,
            )
        )
        kubeconfig = workdir / "kubeconfig"
        _write_private(kubeconfig, yaml.safe_dump(kubeconfig_document(url, pki.ca_pem, token)).encode())
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        server = KubeAPIServer(
            url=url,
            ca_pem=pki.ca_pem,
            ca_cert=pki.ca_cert,
            kubeconfig=kubeconfig,
            workdir=workdir,
            startup_seconds=0.0,
            _token=token,
            _procs=procs,
            _ssl=context,
        )
        _wait("kube-apiserver /readyz", lambda: _ready(server), procs, 120)

        procs.append(
            _spawn(
                "kube-controller-manager",
                [
                    str(controller_manager),
                    f"--kubeconfig={kubeconfig}",
                    f"--controllers={','.join(CONTROLLERS)}",
                    "--leader-elect=false",
                    "--secure-port=0",
                    f"--root-ca-file={pki.ca_cert}",
                    f"--service-account-private-key-file={pki.sa_key}",
                ],
                workdir,
            )
        )
        # The serviceaccount controller creating default/default proves the controllers are running.
        _wait(
            "kube-controller-manager",
            lambda: server.exists("/api/v1/namespaces/default/serviceaccounts/default"),
            procs,
            120,
        )
        server.startup_seconds = time.monotonic() - started
        _LIVE.add(server)
        return server
    except BaseException:
        for proc in reversed(procs):
            proc.stop()
        raise


def _etcd_healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/health", timeout=2) as resp:
        return bool(json.loads(resp.read()).get("health") == "true")


def _ready(server: KubeAPIServer) -> bool:
    try:
        return server.request_raw("GET", "/readyz", timeout=5).strip() == b"ok"
    except KubeAPIError:
        return False


def main() -> int:
    """`python -m tests.support.kube`: run a test API server until Ctrl-C (prints the kubeconfig path,
    never the token)."""
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # delivered to sigwait below, not as exceptions
    try:
        server = start_kube()
    except KubeError as exc:
        print(f"kube: {exc}", file=sys.stderr)
        return 1
    with server:
        print(f"kube-apiserver ready at {server.url} in {server.startup_seconds:.1f}s")
        print(f"KUBECONFIG={server.kubeconfig}", flush=True)
        signal.sigwait(stop_signals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
