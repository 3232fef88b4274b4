"""/healthz, /readyz and /metrics on a small non-blocking socket server (http.server: ~1.5 MiB RSS).

One thread multiplexes every connection with `select.poll` (`selectors` costs ~0.4 MiB RSS), so a
client that sends a byte every second cannot delay anyone else. Each connection has one deadline for
its whole request and response (REQUEST_DEADLINE); at most MAX_REQUEST bytes are buffered per
connection; at most MAX_CONNECTIONS are open, and when a new one arrives at the limit the oldest is
dropped, so a fresh probe always gets in. The handlers are cheap (in-memory state only), so answering
inline keeps every probe well under a second. `/readyz` says only "ready" or "not ready": which
resource is missing and why goes to the log and to the `sidekick_resource_ready` metric, never to
whoever can reach the port.
"""

from __future__ import annotations

import _socket  # not socket: it imports selectors and enum's constant tables (~0.35 MiB RSS, issue 16)
import select
import threading
import time

from .errors import suppress
from .log import log

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from typing import Any

REQUEST_DEADLINE = 2.0   # seconds from accept to the last byte of the response
MAX_REQUEST = 8192       # bytes of request head kept per connection
MAX_CONNECTIONS = 64
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


def parse_listen(listen: str) -> tuple[str, int]:
    """"HOST:PORT", "[::]:PORT" or ":PORT" (all IPv4 interfaces) → (host, port)."""
    host, _, port = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


_IN, _OUT = select.POLLIN, select.POLLOUT
_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL


class _Conn:
    __slots__ = ("buf", "deadline", "opened", "out", "sock")

    def __init__(self, sock: _socket.socket, now: float) -> None:
        self.sock = sock
        self.buf = b""
        self.out = b""
        self.opened = now
        self.deadline = now + REQUEST_DEADLINE


class StatusServer:
    def __init__(self, listen: str, health: Any, ready: Any, metrics: Any) -> None:
        self.addr = parse_listen(listen)
        self.health = health      # () -> (bool, str)
        self.ready = ready        # () -> (bool, str); only the bool is served
        self.metrics = metrics    # () -> str
        self.sock: _socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        family = _socket.AF_INET6 if ":" in self.addr[0] else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            sock.bind(self.addr)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.addr = sock.getsockname()[:2]
        self._running = True
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="status", daemon=True)
        self._thread.start()
        log.info("status endpoints listening", address=f"{self.addr[0]}:{self.addr[1]}")

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(2)
        self.sock = None

    # ------------------------------------------------------------------------------------ the loop
    def _serve(self, listener: _socket.socket) -> None:
        poller = select.poll()
        poller.register(listener.fileno(), _IN)
        conns: dict[int, _Conn] = {}
        try:
            while self._running:
                now = time.monotonic()
                wait = min([c.deadline for c in conns.values()] + [now + 0.5]) - now
                for fd, events in poller.poll(max(0, int(wait * 1000) + 1)):
                    conn = conns.get(fd)
                    if fd == listener.fileno():
                        self._accept(listener, poller, conns)
                    elif conn is None:
                        continue  # closed earlier in this round (evicted)
                    elif events & _IN:
                        self._read(conn, poller, conns)
                    elif events & _OUT:
                        self._write(conn, poller, conns)
                    elif events & _GONE:
                        self._close(conn, poller, conns)
                now = time.monotonic()
                for conn in [c for c in conns.values() if c.deadline <= now]:
                    self._close(conn, poller, conns)  # too slow: its deadline is spent
        except Exception as exc:  # the probes must say something is wrong rather than hang
            log.error("status server failed", error=exc.__class__.__name__)
        finally:
            for conn in list(conns.values()):
                self._close(conn, poller, conns)
            listener.close()

    def _accept(self, listener: _socket.socket, poller: Any, conns: dict[int, _Conn]) -> None:
        while True:
            try:  # socket.socket.accept() is this: accept4(SOCK_CLOEXEC), then a socket object on the fd
                fd, _ = listener._accept()  # type: ignore[attr-defined]
            except OSError:  # nothing more to accept (EAGAIN), or e.g. EMFILE: again on the next wake-up
                return
            sock = _socket.socket(listener.family, listener.type, listener.proto, fd)
            sock.setblocking(False)
            if len(conns) >= MAX_CONNECTIONS:  # drop the oldest: a new probe must always get through
                self._close(min(conns.values(), key=lambda c: c.opened), poller, conns)
            conns[sock.fileno()] = _Conn(sock, time.monotonic())
            poller.register(sock.fileno(), _IN)

    def _read(self, conn: _Conn, poller: Any, conns: dict[int, _Conn]) -> None:
        try:
            chunk = conn.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(conn, poller, conns)
            return
        conn.buf += chunk
        if b"\r\n\r\n" in conn.buf or b"\n\n" in conn.buf or len(conn.buf) >= MAX_REQUEST:
            conn.out = self.respond(conn.buf[:MAX_REQUEST])
            conn.buf = b""
            poller.modify(conn.sock.fileno(), _OUT)
            self._write(conn, poller, conns)

    def _write(self, conn: _Conn, poller: Any, conns: dict[int, _Conn]) -> None:
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            sent = len(conn.out)
        conn.out = conn.out[sent:]
        if not conn.out:
            self._close(conn, poller, conns)

    @staticmethod
    def _close(conn: _Conn, poller: Any, conns: dict[int, _Conn]) -> None:
        fd = conn.sock.fileno()
        if conns.get(fd) is conn:
            del conns[fd]
            with suppress(KeyError, ValueError, OSError):
                poller.unregister(fd)
        conn.sock.close()

    # ------------------------------------------------------------------------------------ HTTP
    def respond(self, request: bytes) -> bytes:
        """The whole response to one request head (Connection: close)."""
        parts = request.split(b"\n", 1)[0].split()
        method = parts[0].decode("latin-1", "replace") if parts else ""
        path = parts[1].decode("latin-1", "replace").split("?", 1)[0] if len(parts) > 1 else ""
        status, ctype, body = 404, "text/plain; charset=utf-8", "not found\n"
        if len(parts) < 2:
            status, body = 400, "bad request\n"
        elif method not in ("GET", "HEAD"):
            status, body = 405, "method not allowed\n"
        elif path in ("/healthz", "/livez"):
            ok, why = self.health()
            status, body = (200 if ok else 503), why + "\n"
        elif path == "/readyz":
            ok, _details = self.ready()
            status, body = (200, "ready\n") if ok else (503, "not ready\n")
        elif path == "/metrics":
            status, ctype, body = 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics()
        payload = body.encode()
        head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
        return head + (b"" if method == "HEAD" else payload)
