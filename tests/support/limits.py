"""Run a command as an attacker's input would make it run: under an address-space limit and a deadline,
measuring its wall time and peak memory (the hostile-input tests of both CLIs use it)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence

ONE_GB = 1_000_000_000


@dataclasses.dataclass
class Bounded:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


def alias_bomb(levels: int = 9, last_key: str = "i") -> str:
    """The classic nine-line "billion laughs": each line holds nine aliases of the line before."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        key = last_key if i == levels - 1 else names[i]
        lines.append(f"{key}: &{names[i]} [{','.join([f'*{names[i - 1]}'] * 9)}]")
    return "\n".join(lines) + "\n"


def write_large(path: pathlib.Path, size: int, line: str) -> None:
    """`size` bytes of repeated `line` (written in chunks: the test itself stays small)."""
    chunk = line * max(1, (1 << 20) // len(line))
    with path.open("w", encoding="utf-8") as fh:
        written = 0
        while written < size:
            fh.write(chunk)
            written += len(chunk)


def run_bounded(argv: Sequence[str], *, memory: int = ONE_GB, timeout: float = 10.0,
                cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Bounded:
    """argv under `prlimit --as=memory`; killed (and reported as returncode -9) after `timeout` seconds.
    Peak RSS comes from wait4's rusage of this one child, not the whole test session's."""
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) is needed to run a command under a memory limit"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([prlimit, f"--as={memory}", "--", *argv], stdout=out, stderr=err,
                                cwd=cwd, env=None if env is None else dict(env))
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Bounded(proc.returncode, out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), seconds, usage.ru_maxrss / 1024)
