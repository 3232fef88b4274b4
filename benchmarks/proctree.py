"""Wall, CPU and peak RSS of one command's whole process tree, per process kind.

A sampler thread walks /proc every SAMPLE_S seconds and keeps, for every descendant of the command, its own
CPU (utime+stime from /proc/PID/stat, children excluded) and its peak RSS (VmHWM from /proc/PID/status,
the kernel's own high-water mark, so a short spike between samples is not missed). A process's last sample
is at most SAMPLE_S old when it exits: CPU of the tree as a whole comes from wait4() instead (exact).
Kinds: the Pulumi engine (the `pulumi` CLI), the language host, the Python program, each provider plugin.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SAMPLE_S = 0.25
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcStat:
    kind: str
    cpu_s: float = 0.0
    hwm_kib: int = 0


@dataclass
class TreeRun:
    returncode: int
    wall_s: float
    cpu_s: float  # the whole tree, from wait4 (user + system)
    stdout: str
    stderr: str
    procs: dict[int, ProcStat] = field(default_factory=dict)

    def by_kind(self) -> dict[str, dict[str, float]]:
        """kind → {cpu_s: summed, rss_mib: peak of any one process of that kind, n: processes}."""
        out: dict[str, dict[str, float]] = {}
        for p in self.procs.values():
            k = out.setdefault(p.kind, {"cpu_s": 0.0, "rss_mib": 0.0, "n": 0})
            k["cpu_s"] = round(k["cpu_s"] + p.cpu_s, 2)
            k["rss_mib"] = max(k["rss_mib"], round(p.hwm_kib / 1024, 1))
            k["n"] += 1
        return out


def kind_of(pid: int) -> str:
    """engine / language-host / program / provider:<name> / other, from the executable and command line."""
    try:
        argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    exe = os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else ""
    joined = b" ".join(argv).decode(errors="replace")
    if exe.startswith("pulumi-resource-"):
        return "provider:" + exe[len("pulumi-resource-"):]
    if exe == "pulumi-language-python":
        return "language-host"
    if exe == "pulumi" or exe.endswith("/pulumi"):
        return "engine"
    if "python" in exe and ("pulumi-language-python-exec" in joined or "__main__" in joined):
        return "program"
    if "python" in exe:
        return "program"
    return "other"


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _descendants(root: int) -> list[int]:
    kids, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _sample(pid: int, procs: dict[int, ProcStat]) -> None:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return
    cpu = (int(stat[11]) + int(stat[12])) / TICK
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    p = procs.get(pid)
    if p is None or p.kind == "other":  # the scripts/pulumi wrapper is bash until it execs the engine
        p = procs[pid] = ProcStat(kind_of(pid), p.cpu_s if p else 0.0, p.hwm_kib if p else 0)
    p.cpu_s, p.hwm_kib = max(p.cpu_s, cpu), max(p.hwm_kib, hwm)


def run_tree(argv: Sequence[str], *, cwd: pathlib.Path, env: Mapping[str, str], timeout: float) -> TreeRun:
    """Run ARGV to completion (killed after TIMEOUT s) while sampling its process tree."""
    procs: dict[int, ProcStat] = {}
    out_path, err_path = (cwd / ".bench-stdout", cwd / ".bench-stderr")
    with out_path.open("w+b") as out, err_path.open("w+b") as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdout=out, stderr=err)
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                for pid in _descendants(child.pid):
                    _sample(pid, procs)
                stop.wait(SAMPLE_S)
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        deadline = start + timeout
        status, usage = 0, None
        while True:
            wpid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if wpid:
                break
            if time.perf_counter() > deadline:
                child.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - start
        stop.set()
        thread.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    out_path.unlink(missing_ok=True)
    err_path.unlink(missing_ok=True)
    cpu = (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0
    return TreeRun(child.returncode, wall, cpu, stdout, stderr, procs)


def summary(run: TreeRun) -> dict[str, Any]:
    return {"wall_s": round(run.wall_s, 2), "cpu_s": round(run.cpu_s, 2), "by_kind": run.by_kind()}
