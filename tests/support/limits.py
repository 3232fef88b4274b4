"""Run a command as an attacker's input would make it run: under an address-space limit and a deadline,
measuring its wall time and peak memory (the hostile-input tests of both CLIs use it)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

ONE_GB = 1_000_000_000

# wait4's ru_maxrss of a child is not the command's own peak: at exec Linux carries the high-water mark of the
# memory the child had before into it (fs/exec.c, setmax_mm_hiwater_rss), and subprocess starts the child
# from this test process (vfork: its whole address space), so every command "used" the test session's peak
# (an alias bomb refused in 20 MiB measured 293 MiB after the sidekick tests had run). This small wrapper
# forks the command from its own few MiB, waits for it, writes its ru_maxrss (KiB) to fd argv[1] and exits as
# the command did.
_PEAK_WRAPPER = """
import os, signal, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
os.write(fd, str(usage.ru_maxrss).encode())
if os.WIFSIGNALED(status):
    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.waitstatus_to_exitcode(status))
"""


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
    Peak RSS is the command's own (_PEAK_WRAPPER), not the test session's."""
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) is needed to run a command under a memory limit"
    peak_r, peak_w = os.pipe()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _PEAK_WRAPPER, str(peak_w), prlimit,
                                 f"--as={memory}", "--", *argv], stdout=out, stderr=err, cwd=cwd,
                                env=None if env is None else dict(env), pass_fds=(peak_w,),
                                start_new_session=True)
        os.close(peak_w)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # the wrapper and the command
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        with os.fdopen(peak_r, "rb") as peak:
            reported = peak.read()
        # killed at the deadline, the wrapper reports nothing: fall back to its own (over-stated) figure
        max_rss_kib = int(reported) if reported else usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        return Bounded(proc.returncode, out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), seconds, max_rss_kib / 1024)
