"""A small Vault HTTP client on sockets (no http.client: it imports ssl and email, ~6 MiB RSS).

HTTP/1.1 with keep-alive; `ssl` is imported only for https addresses. Errors never carry request bodies
or tokens: only the method, path, status and Vault's own error strings.
"""

from __future__ import annotations

import _socket  # not socket: it imports selectors and enum's constant tables (~0.35 MiB RSS, issue 16)
import json
import re
import threading
import time

from .errors import VaultRequestError, suppress

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

_MAX_BODY = 16 * 1024 * 1024
_URL = re.compile(r"^(https?)://(\[[^\]]+\]|[^/:?#\s]+)(?::(\d+))?([^?#]*)(?:\?([^#]*))?")
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


# Tiny stand-ins for urllib.parse (which costs ~0.7 MiB RSS with the ipaddress module it pulls in).
def quote(text: str, safe: str = "") -> str:
    allowed = _SAFE | frozenset(safe.encode())
    return "".join(chr(b) if b in allowed else f"%{b:02X}" for b in text.encode())


def urlencode(query: dict[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())


class _Split:
    __slots__ = ("hostname", "netloc", "path", "port", "query", "scheme")

    def __init__(self, url: str) -> None:
        match = _URL.match(url)
        if not match:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme, host, port, self.path, query = match.groups()
        self.hostname = host.strip("[]")
        self.port = int(port) if port else None
        self.netloc = host + (f":{port}" if port else "")
        self.query = query or ""


def urlsplit(url: str) -> _Split:
    return _Split(url)


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Reader:
    """Buffered reads from a socket under one deadline for the whole response: a server that trickles a
    byte at a time (or never answers) cannot hold a request longer than its timeout, which a file from
    `sock.makefile()` would allow (its timeout restarts at every recv)."""

    __slots__ = ("buf", "deadline", "sock")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.deadline = float("inf")

    def _fill(self) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def _take(self, n: int) -> bytes:
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def readline(self, limit: int) -> bytes:
        """Up to and including the next newline, at most `limit` bytes; what is left at EOF."""
        while True:
            end = self.buf.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self.buf) >= limit or not self._fill():
                return self._take(limit)

    def read(self, size: int) -> bytes:
        while len(self.buf) < size and self._fill():
            pass
        return self._take(size)

    def read_to_close(self, limit: int) -> bytes:
        while len(self.buf) <= limit and self._fill():
            pass
        if len(self.buf) > limit:
            raise OSError("response too large")
        return self._take(len(self.buf))


def connect_tcp(host: str | bytes, port: int, timeout: float) -> Any:
    """socket.create_connection on the C module: each address getaddrinfo gives, in order, with `timeout`
    for each connect; the first error if none connects. The socket is an `_socket.socket` (sendall, recv,
    settimeout, close; `ssl` wraps it like a `socket.socket`)."""
    errors: list[OSError] = []
    for family, kind, proto, _name, addr in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(addr)
            return sock
        except OSError as exc:
            errors.append(exc)
            sock.close()
    try:
        raise errors[0] if errors else OSError("getaddrinfo returns an empty list")
    finally:
        errors.clear()  # no reference cycle through the traceback


class Connection:
    """One persistent HTTP/1.1 connection to host:port, reconnecting when the server closed it."""

    def __init__(self, url: str, timeout: float = 30.0, ca_cert: str = "", skip_verify: bool = False) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.ca_cert = ca_cert
        self.skip_verify = skip_verify
        self._sock: Any = None
        self._file: _Reader | None = None
        self._ctx: Any = None

    def _context(self) -> Any:
        if self._ctx is None:
            import ssl  # lazy: ~4.5 MiB RSS, only paid for https

            if self.skip_verify:  # no CA store to load (the system bundle costs ~1.5 MiB RSS)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:  # with a CA file only that file is loaded, else the system store
                ctx = ssl.create_default_context(cafile=self.ca_cert or None)
            self._ctx = ctx
        return self._ctx

    def _connect(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        # getaddrinfo IDNA-encodes every str host, which imports encodings.idna, stringprep and unicodedata
        # (~0.2 MiB RSS, issue 16); an ASCII name needs no encoding, so it is passed as bytes.
        host: str | bytes = self.host.encode("ascii") if self.host.isascii() else self.host
        sock = connect_tcp(host, self.port, left)
        if self.tls:
            sock = self._context().wrap_socket(sock, server_hostname=self.host)
        self._sock = sock
        self._file = _Reader(sock)

    def close(self) -> None:
        if self._sock is not None:
            with suppress(OSError):
                self._sock.close()
        self._sock = self._file = None

    def request(self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
                deadline: float | None = None) -> Response:
        """Send one request, all of it (connect, send, response) done by `deadline` (monotonic; default
        now + timeout); on a stale keep-alive connection retry once on a fresh one."""
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        fresh = self._sock is None
        try:
            return self._roundtrip(method, target, body, headers or {}, deadline)
        except (OSError, EOFError) as exc:
            self.close()
            if fresh or isinstance(exc, TimeoutError):
                raise
        return self._roundtrip(method, target, body, headers or {}, deadline)

    def _roundtrip(self, method: str, target: str, body: bytes, headers: dict[str, str], deadline: float
                   ) -> Response:
        if self._sock is None:
            self._connect(deadline)
        reader = self._file
        assert reader is not None
        reader.deadline = deadline
        host = self.host if self.port in (80, 443) else f"{self.host}:{self.port}"
        lines = [f"{method} {self.prefix}{target} HTTP/1.1", f"Host: {host}", "User-Agent: sidekick",
                 "Accept: application/json", f"Content-Length: {len(body)}"]
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        self._sock.settimeout(max(0.001, deadline - time.monotonic()))  # sendall: a total bound
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status_line = reader.readline(65537)
        if not status_line:
            raise EOFError("connection closed by the server")
        try:
            status = int(status_line.split(None, 2)[1])
        except (IndexError, ValueError):
            raise OSError(f"malformed HTTP status line from {self.host}") from None
        resp_headers: dict[str, str] = {}
        for _ in range(200):  # a bounded header block
            line = reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            resp_headers[key.strip().lower()] = value.strip()
        else:
            raise OSError(f"too many response headers from {self.host}")
        data = self._read_body(reader, method, status, resp_headers)
        if resp_headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, resp_headers, data)

    def _read_body(self, reader: _Reader, method: str, status: int, headers: dict[str, str]) -> bytes:
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(reader.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise OSError("response too large")
                chunks.append(_exact(reader, size))
                reader.readline(8)
        if "content-length" in headers:
            length = int(headers["content-length"])
            if length > _MAX_BODY or length < 0:
                raise OSError("response too large")
            return _exact(reader, length)
        data = reader.read_to_close(_MAX_BODY)  # no length: read to close
        self.close()
        return data


def _exact(reader: _Reader, size: int) -> bytes:
    data = reader.read(size)
    if len(data) != size:
        raise EOFError("connection closed mid-body")
    return data


class Secret:
    """A Vault response: its data and lease metadata (plus `auth` for logins)."""

    __slots__ = ("auth", "data", "lease_duration", "lease_id", "renewable", "warnings")

    def __init__(self, body: dict[str, Any]) -> None:
        self.data: dict[str, Any] = body.get("data") or {}
        self.lease_id: str = body.get("lease_id") or ""
        self.lease_duration: int = int(body.get("lease_duration") or 0)
        self.renewable: bool = bool(body.get("renewable"))
        self.auth: dict[str, Any] = body.get("auth") or {}
        self.warnings: list[str] = body.get("warnings") or []


class VaultHttp:
    """Thread-safe (one lock around the single connection; the sidekick's traffic is tiny)."""

    def __init__(self, addr: str, ca_cert: str = "", skip_verify: bool = False, timeout: float = 30.0,
                 metrics: Any = None) -> None:
        self.addr = addr.rstrip("/")
        self.conn = Connection(self.addr, timeout, ca_cert, skip_verify)
        self.token = ""
        self.metrics = metrics
        # One-shot: a time.monotonic() instant no request may outlive, so a Vault that accepts connections
        # and never answers cannot stretch the run past its bound (each request is also held to `timeout`).
        self.deadline: float | None = None
        self._lock = threading.Lock()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.vault_request(outcome)

    def raw(self, method: str, path: str, body: dict[str, Any] | None = None,
            query: dict[str, Any] | None = None, auth: bool = True) -> Response:
        target = "/v1/" + quote(path.strip("/"), safe="/-_.~@:")
        if query:
            target += "?" + urlencode({str(k): str(v) for k, v in query.items()})
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {"X-Vault-Request": "true"}
        if payload:
            headers["Content-Type"] = "application/json"
        if auth and self.token:
            headers["X-Vault-Token"] = self.token
        deadline = time.monotonic() + self.conn.timeout
        if self.deadline is not None:
            if self.deadline <= time.monotonic():
                self._count("transport_error")
                raise VaultRequestError(f"{method} {path}: the one-shot time bound is spent", 0, path)
            deadline = min(deadline, self.deadline)
        with self._lock:
            try:
                resp = self.conn.request(method, target, payload, headers, deadline)
            except (OSError, EOFError, ValueError) as exc:
                self.conn.close()
                self._count("transport_error")
                reason = exc.__class__.__name__ if not str(exc) else str(exc)
                raise VaultRequestError(f"{method} {path}: cannot reach Vault at {self.addr}: {reason}", 0,
                                        path) from None
        if resp.status >= 500:
            self._count("server_error")
        elif resp.status >= 400:
            self._count("client_error")
        else:
            self._count("ok")
        return resp

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, auth: bool = True) -> Secret | None:
        """JSON request; None for 204. Raises VaultRequestError for any other non-2xx status."""
        resp = self.raw(method, path, body, query, auth)
        if resp.status == 204:
            return None
        if resp.status >= 400 or resp.status < 200:
            raise VaultRequestError(f"{method} {path}: {_errors(resp)}", resp.status, path)
        try:
            decoded = json.loads(resp.body or b"{}")
        except ValueError:
            raise VaultRequestError(f"{method} {path}: Vault answered with a body that is not JSON",
                                    resp.status, path) from None
        return Secret(decoded if isinstance(decoded, dict) else {})

    def read(self, path: str, query: dict[str, Any] | None = None) -> Secret | None:
        return self.call("GET", path, query=query)

    def write(self, path: str, body: dict[str, Any]) -> Secret | None:
        return self.call("POST", path, body)

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _errors(resp: Response) -> str:
    """Vault's error strings (they name paths and permissions, never secret values)."""
    try:
        errs = json.loads(resp.body or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        errs = []
    text = "; ".join(str(e) for e in errs)[:300]
    return f"HTTP {resp.status}" + (f": {text}" if text else "")


def http_call(url: str, method: str = "POST", body: bytes = b"", timeout: float = 10.0) -> int:
    """One-off request for the http hook; returns the status."""
    parts = urlsplit(url)
    conn = Connection(f"{parts.scheme}://{parts.netloc}", timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        return conn.request(method, target, body, {"Connection": "close"}).status
    finally:
        conn.close()
