"""A throwaway PostgreSQL on 127.0.0.1 for Vault's database secrets engine (leased, renewable secrets
with a max TTL, no cloud needed). Runs as the `postgres` system user: the server refuses root."""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from tests.support.vault import free_port


class Postgres:
    def __init__(self, initdb: pathlib.Path, postgres: pathlib.Path) -> None:
        # its own directory under /tmp: pytest's tmp dirs are 0700 root, which the postgres user cannot enter
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="sidekick-pg-"))
        shutil.chown(workdir, "postgres", "postgres")
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()
        self._run_as(["runuser", "-u", "postgres", "--", str(initdb), "-D", str(self.data), "-A", "trust",
                      "-U", "postgres", "--no-sync"], timeout=120)
        log = open(workdir / "postgres.log", "wb")  # noqa: SIM115 - owned by the process's lifetime
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(postgres), "-D", str(self.data), "-p", str(self.port),
             "-k", str(workdir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (workdir / "postgres.log").read_text()
                    raise RuntimeError(f"postgres did not start: {log_text}") from None
                time.sleep(0.1)
        time.sleep(0.5)  # accepting TCP a moment before it accepts logins

    @staticmethod
    def _run_as(argv: list[str], timeout: float) -> None:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ,
                             "LC_ALL": "C"})
        if out.returncode:
            raise RuntimeError(f"{argv[4]} failed: {out.stdout}{out.stderr}")

    @property
    def url(self) -> str:
        return f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
