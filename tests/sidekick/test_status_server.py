"""The status server under hostile clients: slow ones, many idle ones, garbage, and a bind address."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sidekick import server as server_mod
from sidekick.config import Config
from sidekick.errors import SidekickConfigError
from sidekick.server import StatusServer, parse_listen


@pytest.fixture
def status() -> Iterator[StatusServer]:
    srv = StatusServer("127.0.0.1:0", lambda: (True, "ok"),
                       lambda: (False, "db: expired and not refreshed (GET database/creds/app: HTTP 503)"),
                       lambda: "sidekick_up 1\n")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def probe(port: int, path: str = "/readyz", timeout: float = 1.0) -> tuple[bytes, float]:
    """A kubelet-style probe: connect, one request, read to close. Returns (response, seconds)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    return data, time.monotonic() - start


def test_twenty_slow_clients_do_not_starve_readyz(status: StatusServer) -> None:
    port = status.addr[1]
    stop = threading.Event()
    sent = [0]

    def slow_client() -> None:  # a byte every 1.5 s, never finishing its request head
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for byte in b"GET /readyz HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                    sock.sendall(bytes([byte]))
                    sent[0] += 1
                    if stop.wait(1.5):
                        return
        except OSError:
            return  # closed by the server at its deadline: what we want

    clients = [threading.Thread(target=slow_client, daemon=True) for _ in range(20)]
    for client in clients:
        client.start()
    try:
        time.sleep(0.3)
        worst = 0.0
        deadline = time.monotonic() + 4.5  # spans several of the slow clients' bytes and deadlines
        count = 0
        while time.monotonic() < deadline:
            response, took = probe(port)
            assert response.startswith(b"HTTP/1.1 503 "), response
            worst = max(worst, took)
            count += 1
            time.sleep(0.1)
        assert worst < 1.0, f"/readyz took {worst:.2f}s while 20 slow clients were connected"
        assert count >= 10 and sent[0] >= 20
    finally:
        stop.set()
        for client in clients:
            client.join(5)


def test_a_slow_client_is_cut_off_at_its_deadline(status: StatusServer) -> None:
    with socket.create_connection(("127.0.0.1", status.addr[1]), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        start = time.monotonic()
        assert sock.recv(100) == b""  # closed without an answer
        took = time.monotonic() - start
    assert server_mod.REQUEST_DEADLINE - 0.5 < took < server_mod.REQUEST_DEADLINE + 1.0


def test_more_idle_connections_than_the_limit_still_let_a_probe_in(status: StatusServer) -> None:
    port = status.addr[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(server_mod.MAX_CONNECTIONS + 20)]
    try:
        response, took = probe(status.addr[1], "/healthz")
        assert response.startswith(b"HTTP/1.1 200 ") and response.endswith(b"\r\n\r\nok\n")
        assert took < 1.0
    finally:
        for sock in idle:
            sock.close()


def test_readyz_never_serves_the_details(status: StatusServer) -> None:
    response, _ = probe(status.addr[1])
    assert response.endswith(b"\r\n\r\nnot ready\n")
    body = response.split(b"\r\n\r\n", 1)[1]
    assert b"database" not in response and b"db" not in body
    head, _ = probe(status.addr[1], "/metrics")
    assert b"sidekick_up 1" in head
    bad, _ = probe(status.addr[1], "/readyz\x00")
    assert bad.startswith(b"HTTP/1.1 404 ")


def test_an_oversized_request_head_is_answered_and_closed(status: StatusServer) -> None:
    with socket.create_connection(("127.0.0.1", status.addr[1]), timeout=5) as sock:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nX: " + b"a" * 20000)
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass  # the unread rest of the request may reset the connection after the answer
    assert data.startswith(b"HTTP/1.1 503 ") or data == b""


@pytest.mark.parametrize(("listen", "addr"), [
    ("0.0.0.0:9191", ("0.0.0.0", 9191)), ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    ("[::1]:9191", ("::1", 9191)), (":9191", ("0.0.0.0", 9191)),
])
def test_listen_addresses(listen: str, addr: tuple[str, int]) -> None:
    assert parse_listen(listen) == addr
    cfg = Config()
    cfg.vault_addr, cfg.one_shot, cfg.listen = "https://v:8200", True, listen
    cfg.validate()


@pytest.mark.parametrize("listen", ["9191", "host", "a b:1", "[::1:9191", "1.2.3.4:123456", "0.0.0.0:99999"])
def test_bad_listen_addresses_are_config_errors(listen: str) -> None:
    cfg = Config()
    cfg.vault_addr, cfg.one_shot, cfg.listen = "https://v:8200", True, listen
    with pytest.raises(SidekickConfigError, match=r"must be HOST:PORT|at most 65535"):
        cfg.validate()


def test_binds_the_configured_loopback_only() -> None:
    srv = StatusServer("127.0.0.1:0", lambda: (True, "ok"), lambda: (True, "ready"), lambda: "")
    srv.start()
    try:
        assert srv.addr[0] == "127.0.0.1"
        response, _ = probe(srv.addr[1])
        assert response.endswith(b"\r\n\r\nready\n")
    finally:
        srv.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.addr[1]), timeout=1).close()
