"""/healthz, /readyz and /metrics on a tiny socket server (http.server would add ~1.5 MiB RSS)."""

from __future__ import annotations

import socket
import threading

from .log import log

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any


class StatusServer:
    def __init__(self, listen: str, health: Any, ready: Any, metrics: Any) -> None:
        host, _, port = listen.rpartition(":")
        self.addr = (host or "0.0.0.0", int(port))
        self.health = health      # () -> (bool, str)
        self.ready = ready        # () -> (bool, str)
        self.metrics = metrics    # () -> str
        self.sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.addr[0] else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.addr)
        sock.listen(16)
        sock.settimeout(0.5)
        self.sock = sock
        self.addr = sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._serve, name="status", daemon=True)
        self._thread.start()
        log.info("status endpoints listening", address=f"{self.addr[0]}:{self.addr[1]}")

    def stop(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(2)

    def _serve(self) -> None:
        while self.sock is not None:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(2.0)
                self._handle(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 8192:
            chunk = conn.recv(2048)
            if not chunk:
                break
            data += chunk
        parts = data.split(b"\n", 1)[0].split()
        method = parts[0].decode("latin-1", "replace") if parts else ""
        path = parts[1].decode("latin-1", "replace").split("?", 1)[0] if len(parts) > 1 else ""
        status, ctype, body = 404, "text/plain; charset=utf-8", "not found\n"
        if method not in ("GET", "HEAD"):
            status, body = 405, "method not allowed\n"
        elif path in ("/healthz", "/livez"):
            ok, why = self.health()
            status, body = (200 if ok else 503), why + "\n"
        elif path == "/readyz":
            ok, why = self.ready()
            status, body = (200 if ok else 503), why + "\n"
        elif path == "/metrics":
            status, ctype, body = 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics()
        payload = body.encode()
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n").encode()
        conn.sendall(head + (b"" if method == "HEAD" else payload))
