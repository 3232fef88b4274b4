"""Program evaluation: the real stack program on a generated large config, under recording mocks, against a
flat program registering the same resources directly; scaling 1/10 → full; `vaultconf validate` time.

The stack program is infra/__main__.py, unchanged, copied next to a generated config/ directory (it reads
the config beside itself). The flat program replays the custom resources the stack registered (same
types, names and inputs) with bare `pulumi.CustomResource` calls: no YAML, no validation, no components.
The ratio is what the whole vaultconf layer costs on top of Pulumi itself. A second flat program makes the
same calls through the provider SDKs' classes (`vault.Policy(...)`, `k8s.core.v1.Secret(...)`), as a
hand-written program would: its ratio is what the layer costs over writing the resources out by hand.
"""

from __future__ import annotations

import importlib
import pathlib
import re
import resource
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pulumi
from vaultconf.testing import MockRun, Recorded, run_under_mocks

from benchmarks import genconfig
from tests.stack._program import SECRETS, stack_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
STACK = "bench"


def _program_dir(scale: float, base: pathlib.Path) -> pathlib.Path:
    prog = base / f"scale-{scale:g}"
    prog.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "infra" / "__main__.py", prog / "__main__.py")
    genconfig.write(prog / "config", scale, STACK)
    return prog


def _run_stack(prog: pathlib.Path) -> MockRun:
    cfg = stack_config(STACK)
    return run_under_mocks(lambda: runpy.run_path(str(prog / "__main__.py"), run_name="__main__"),
                           project="vaultconf", stack=STACK, config=cfg,
                           secret_config=tuple(k for k in cfg if k.split(":", 1)[1] in SECRETS))


def _flat(recorded: list[Recorded]) -> Callable[[], None]:
    customs = [r for r in recorded if r.custom and not r.type.startswith("pulumi:providers:")]

    def program() -> None:
        seen: set[tuple[str, str]] = set()
        for i, rec in enumerate(customs):
            name = rec.name if (rec.type, rec.name) not in seen else f"{rec.name}-{i}"
            seen.add((rec.type, name))
            pulumi.CustomResource(rec.type, name, dict(rec.inputs))
    return program


def _sdk_class(token: str) -> Any:
    """The provider SDK class for a type token: kubernetes:apps/v1:Deployment in pulumi_kubernetes.apps.v1,
    vault:pkiSecret/secretBackendRole:SecretBackendRole in pulumi_vault.pkisecret, vault:index/... in
    pulumi_vault."""
    package, module, name = token.split(":")
    parts = module.split("/")
    if package == "kubernetes":
        where = importlib.import_module(f"pulumi_kubernetes.{'.'.join(parts)}")
    elif parts[0] == "index":
        where = importlib.import_module(f"pulumi_{package}")
    else:
        where = importlib.import_module(f"pulumi_{package}.{parts[0].lower()}")
    return getattr(where, name)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def _flat_typed(recorded: list[Recorded]) -> Callable[[], None]:
    customs = [r for r in recorded if r.custom and not r.type.startswith("pulumi:providers:")]
    classes = {r.type: _sdk_class(r.type) for r in customs}

    def program() -> None:
        for i, rec in enumerate(customs):
            classes[rec.type](f"{rec.name}-{i}", **{_snake(k): v for k, v in rec.inputs.items()})
    return program


def _timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(quick: bool) -> dict[str, Any]:
    repeats = 1 if quick else 3
    base = pathlib.Path(tempfile.mkdtemp(prefix="bench-program-"))
    out: dict[str, Any] = {"repeats": repeats}
    try:
        small, full = _program_dir(0.1, base), _program_dir(1.0, base)
        _run_stack(small)  # warm-up: imports, schema compilation
        for label, prog in (("tenth", small), ("full", full)):
            stack_wall, stack_cpu, flat_wall, flat_cpu = [], [], [], []
            run_result: MockRun | None = None
            for _ in range(repeats):
                w, c, run_result = _timed(lambda p=prog: _run_stack(p))  # type: ignore[misc]
                stack_wall.append(w)
                stack_cpu.append(c)
            assert run_result is not None
            flat_program = _flat(run_result.resources)
            flat_count = 0
            for _ in range(repeats):
                w, c, flat_run = _timed(
                    lambda fp=flat_program: run_under_mocks(fp, project="vaultconf", stack=STACK))  # type: ignore[misc]
                flat_wall.append(w)
                flat_cpu.append(c)
                flat_count = len(flat_run.resources)
            typed_program = _flat_typed(run_result.resources)
            typed_wall, typed_cpu = [], []
            for _ in range(repeats):
                w, c, typed_run = _timed(
                    lambda fp=typed_program: run_under_mocks(fp, project="vaultconf", stack=STACK))  # type: ignore[misc]
                typed_wall.append(w)
                typed_cpu.append(c)
                if len(typed_run.resources) != flat_count:
                    raise RuntimeError("the typed flat program registered a different number of resources")
            out[label] = {
                "resources": len(run_result.resources),
                "custom_resources": sum(1 for r in run_result.resources if r.custom),
                "flat_resources": flat_count,
                "stack_wall": _median(stack_wall), "stack_cpu": _median(stack_cpu),
                "flat_wall": _median(flat_wall), "flat_cpu": _median(flat_cpu),
                "typed_wall": _median(typed_wall), "typed_cpu": _median(typed_cpu),
            }
        f, t = out["full"], out["tenth"]
        out["ratio_cpu"] = f["stack_cpu"] / f["flat_cpu"]
        out["ratio_wall"] = f["stack_wall"] / f["flat_wall"]
        out["ratio_typed_cpu"] = f["stack_cpu"] / f["typed_cpu"]
        out["ratio_typed_wall"] = f["stack_wall"] / f["typed_wall"]
        out["flat_scaling_cpu"] = f["flat_cpu"] / t["flat_cpu"]
        out["scaling_cpu"] = f["stack_cpu"] / t["stack_cpu"]
        out["scaling_wall"] = f["stack_wall"] / t["stack_wall"]
        out["validate"] = _validate(full / "config", repeats)
        out["sizes"] = genconfig.sizes(1.0)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return out


def _validate(config_dir: pathlib.Path, repeats: int) -> dict[str, float]:
    """`vaultconf validate` as a user runs it (a fresh process), and the validate() call in-process."""
    cli = ROOT / ".venv" / "bin" / "vaultconf"
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([str(cli), "validate", "--config-dir", str(config_dir), "--stack", STACK],
                              capture_output=True, text=True, timeout=600)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if proc.returncode != 0:
            raise RuntimeError(f"vaultconf validate failed ({proc.returncode}): {proc.stdout[-500:]}"
                               f"{proc.stderr[-500:]}")
    from vaultconf.config import validate

    inproc_wall, inproc_cpu = [], []
    validate(config_dir, STACK)  # warm-up (imports, schema)
    for _ in range(repeats):
        w, c, result = _timed(lambda: validate(config_dir, STACK))
        inproc_wall.append(w)
        inproc_cpu.append(c)
        if result.errors:
            raise RuntimeError(f"generated config has {len(result.errors)} errors: {result.errors[0]}")
    return {"cli_wall": _median(walls), "cli_cpu": _median(cpus), "call_wall": _median(inproc_wall),
            "call_cpu": _median(inproc_cpu)}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=1))
