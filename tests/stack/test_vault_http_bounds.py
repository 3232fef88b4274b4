"""The import/unmanaged Vault client treats Vault's answers as hostile: a huge answer is one clear error."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from vaultconf.config.vault_http import MAX_RESPONSE, VaultApiError, VaultClient


class _Huge(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        size = MAX_RESPONSE + 2**20
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b" " * 2**16
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as it should

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def huge_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_answer_larger_than_the_bound_is_refused_not_read(huge_server: str) -> None:
    client = VaultClient(huge_server, "t0ken-never-shown", timeout=10)
    with pytest.raises(VaultApiError) as err:
        client.read("sys/policies/acl/x")
    text = str(err.value)
    assert "larger than 16 MiB" in text and "t0ken-never-shown" not in text
