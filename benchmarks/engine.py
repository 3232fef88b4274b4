"""Real-engine figures: the stack and the typed flat program through the real Pulumi CLI.

For each scale (quick: 0.1 and 0.3; full: also 1.0) and each program, a fresh Vault dev server and a fresh
kube-apiserver, a fresh file backend, then: first preview, first up, no-op preview, no-op preview --refresh,
destroy. Every command runs through scripts/pulumi (the project's checkpoint choice, docs/scaling.md), timed
with benchmarks/proctree.py: wall, CPU of the whole tree, and per kind (engine, language host, program,
each provider) CPU and peak RSS. The stack is tests/e2e/stack.py's copy of infra/ (the same entry point
the e2e test and `make demo` run) on benchmarks/genconfig.py's config; the flat program is
benchmarks/engine_flat.py. `--checkpoints` adds the stack's first preview and first up with the engine's
per-step checkpoints (PULUMI_SKIP_CHECKPOINTS=false, which the wrapper never overrides), for the
comparison docs/scaling.md draws on.
"""

from __future__ import annotations

import math
import pathlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

from benchmarks import engine_flat, genconfig, proctree
from tests.e2e.stack import SIDEKICK_IMAGE, copy_project
from tests.support.pulumi import ROOT, WRAPPER, Workspace, change_summary, new_workspace

STACK = "bench"
# the typed flat program twice: as written by hand, and with the SDK workaround the stack uses (settle)
FLAT_SETTLED = "flat+settle"
KINDS = ("stack", "flat", FLAT_SETTLED)
COMMAND_TIMEOUT = 1800.0  # one command; a full-scale run that exceeds this is reported, not waited on
PHASES = (
    ("first_preview", ("preview", "--json")),
    ("first_up", ("up", "--yes", "--skip-preview", "--json")),
    ("noop_preview", ("preview", "--json", "--expect-no-changes")),
    ("noop_preview_refresh", ("preview", "--json", "--refresh", "--expect-no-changes")),
    ("destroy", ("destroy", "--yes", "--skip-preview")),
)


def _configure(ws: Workspace, vault: Any, kube: Any, config_dir: str | None) -> None:
    ws.stack_init(STACK)
    values = {"vaultconf:overlay": STACK, "vaultconf:vaultAddress": vault.addr,
              "vaultconf:podVaultAddress": vault.addr, "vaultconf:sidekickImage": SIDEKICK_IMAGE,
              "vaultconf:kubeconfig": str(kube.kubeconfig), "vaultconf:kubernetesCaCert": kube.ca_pem}
    if config_dir:
        values["vaultconf:configDir"] = config_dir
    ws.config_set_all(values)
    ws.config_set("vaultconf:awsAccessKey", "AKIA" + secrets.token_hex(8).upper(), secret=True)
    ws.config_set("vaultconf:awsSecretKey", secrets.token_urlsafe(30), secret=True)


def _stack_project(dest: pathlib.Path, scale: float) -> pathlib.Path:
    project = copy_project(dest)
    genconfig.write(project / "bench-config", scale, STACK)
    return project


def _flat_project(dest: pathlib.Path, scale: float, settle: bool) -> tuple[pathlib.Path, int]:
    """The flat program, recorded from the stack program on the same generated config."""
    scratch = dest.parent / f"record-{dest.name}"
    scratch.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "infra" / "__main__.py", scratch / "__main__.py")
    genconfig.write(scratch / "config", scale, STACK)
    run, outputs = engine_flat.record(scratch / "__main__.py", STACK)
    project = copy_project(dest)  # Pulumi.yaml with the venv; main: is pointed at flat/
    count = engine_flat.write(run, outputs, project / "flat", settle=settle)
    text = (project / "Pulumi.yaml").read_text(encoding="utf-8").replace("main: e2e/", "main: flat/")
    (project / "Pulumi.yaml").write_text(text, encoding="utf-8")
    return project, count


def _phase(ws: Workspace, args: tuple[str, ...], env: dict[str, str]) -> dict[str, Any]:
    child_env = ws.env()
    child_env.update(env)
    argv = [str(WRAPPER), "--non-interactive", *args]
    run = proctree.run_tree(argv, cwd=ws.project_dir, env=child_env, timeout=COMMAND_TIMEOUT)
    out = proctree.summary(run)
    out["exit"] = run.returncode
    if run.returncode != 0:
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
        out["error"] = f"`pulumi {' '.join(args)}` exited {run.returncode}: {tail[-1500:]}"
    elif args[0] == "preview" and "--json" in args:
        import json
        try:
            out["changes"] = change_summary(json.loads(run.stdout))
        except ValueError:
            out["changes"] = "unparsed"
    return out


def scenario(kind: str, scale: float, base: pathlib.Path, phases: tuple[str, ...],
             env: dict[str, str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """One program at one scale on fresh engines: {phase: figures}, plus the resource count."""
    from tests.support.kube import start_kube
    from tests.support.vault import start_dev

    work = base / f"{kind}-{scale:g}-{len(list(base.iterdir()))}"
    work.mkdir(parents=True)
    result: dict[str, Any] = {"program": kind, "scale": scale}
    if kind == "stack":
        project, config_dir = _stack_project(work / "project", scale), "bench-config"
    else:
        settle = kind == FLAT_SETTLED
        (project, result["flat_resources"]), config_dir = _flat_project(work / "project", scale, settle), None
    vault = start_dev(log_level="warn")
    try:
        kube = start_kube()
        try:
            ws = new_workspace(project, state_dir=work / "state", env={"VAULT_TOKEN": vault.token})
            _configure(ws, vault, kube, config_dir)
            for name, args in PHASES:
                if name not in phases:
                    continue
                log(f"[engine] {kind} scale {scale:g} {name} ...")
                figures = _phase(ws, args, env or {})
                result[name] = figures
                log(f"[engine]   {figures['wall_s']} s wall, {figures['cpu_s']} s CPU"
                    f"{'  ERROR' if 'error' in figures else ''}")
                if "error" in figures:
                    break
                if name == "first_up":
                    result["resources"] = len(ws.resources())
        finally:
            kube.stop()
    finally:
        vault.stop()
        shutil.rmtree(work, ignore_errors=True)
    return result


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(time) on log(resources): time ∝ resources^k."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else None


def run(quick: bool, *, scales: list[float] | None = None, checkpoints: bool = True,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    import os

    scales = scales or ([0.1, 0.3] if quick else [0.1, 0.3, 1.0])
    base = pathlib.Path(tempfile.mkdtemp(prefix="bench-engine-"))
    all_phases = tuple(name for name, _ in PHASES)
    out: dict[str, Any] = {"scales": list(scales), "load_before": os.getloadavg(), "runs": []}
    started = time.monotonic()
    try:
        for scale in scales:
            # destroy at full scale is minutes of waiting for namespace finalizers: measured at 0.1/0.3 only
            phases = all_phases if scale < 1.0 else tuple(p for p in all_phases if p != "destroy")
            for kind in KINDS:
                one = scenario(kind, scale, base, phases, log=log)
                one["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                one["load"] = [round(x, 1) for x in os.getloadavg()]
                out["runs"].append(one)
            if checkpoints and scale < 1.0:  # per-step checkpoints are quadratic: never at full scale
                every = scenario("stack", scale, base, ("first_preview", "first_up"),
                                 env={"PULUMI_SKIP_CHECKPOINTS": "false"}, log=log)
                every["checkpoints"] = "every-step"
                out["runs"].append(every)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    out["elapsed_s"] = round(time.monotonic() - started)
    out["derived"] = derive(out["runs"])
    return out


def merge(previous: dict[str, Any] | None, fresh: dict[str, Any]) -> dict[str, Any]:
    """FRESH plus the runs of PREVIOUS at scales FRESH did not measure; derived figures recomputed."""
    if not isinstance(previous, dict) or "runs" not in previous:
        return fresh
    scales = set(fresh["scales"])
    kept = [r for r in previous["runs"] if r["scale"] not in scales]
    runs = sorted(kept + fresh["runs"], key=lambda r: (r["scale"], r["program"], "checkpoints" in r))
    return {**fresh, "scales": sorted({r["scale"] for r in runs}), "runs": runs, "derived": derive(runs)}


def derive(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Ratios stack/flat (each flat kind) per phase and scale; fitted exponent per program and phase."""
    fast = [r for r in runs if "checkpoints" not in r]
    derived: dict[str, Any] = {"ratio": {}, "exponent": {}}
    for r in fast:
        if r["program"] != "stack":
            continue
        for kind in KINDS[1:]:
            flat = next((f for f in fast if f["program"] == kind and f["scale"] == r["scale"]), None)
            if flat is None:
                continue
            for phase, _ in PHASES:
                if phase in r and phase in flat and "error" not in r[phase] and "error" not in flat[phase]:
                    ratio = r[phase]["wall_s"] / flat[phase]["wall_s"]
                    derived["ratio"][f"stack/{kind} {phase}@{r['scale']:g}"] = round(ratio, 2)
    for kind in KINDS:
        for phase, _ in PHASES:
            for measure in ("wall_s", "cpu_s"):  # CPU: less at the mercy of the machine's other tenants
                pts = [(float(r.get("resources", 0)), float(r[phase][measure])) for r in fast
                       if r["program"] == kind and phase in r and "error" not in r[phase]]
                k = exponent(pts)
                if k is not None:
                    suffix = "" if measure == "wall_s" else " (CPU)"
                    derived["exponent"][f"{kind}.{phase}{suffix}"] = round(k, 2)
    return derived


TARGETS_FULL = {"first_preview": 60.0, "noop_preview": 60.0, "noop_preview_refresh": 120.0, "first_up": 150.0}


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def rows(e: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, met?) rows for benchmarks/results.md."""
    out: list[tuple[str, str, str, str]] = []
    for r in e.get("runs", []):
        label = f"real engine, {r['program']}{' (per-step checkpoints)' if 'checkpoints' in r else ''}, " \
                f"scale {r['scale']:g} ({r.get('resources', '?')} resources)"
        for phase, _ in PHASES:
            f = r.get(phase)
            if not isinstance(f, dict):
                continue
            kinds = f.get("by_kind", {})
            mem = ", ".join(f"{k} {v['rss_mib']:.0f}" for k, v in sorted(kinds.items()))
            value = f"{f['wall_s']:.1f} s ({f['cpu_s']:.1f} s CPU; peak MiB: {mem})"
            if phase == "first_preview" and r.get("load"):
                value += f" [load {r['load'][0]:g} at the end of this program's run, {r.get('when', '')}]"
            if "error" in f:
                value = f"failed after {f['wall_s']:.0f} s: {f['error'][:200]}"
            target, ok = "", ""
            limit = TARGETS_FULL.get(phase)
            if limit and r["scale"] == 1.0 and r["program"] == "stack" and "checkpoints" not in r:
                target, ok = f"≤ {limit:g} s", _mark("error" not in f and f["wall_s"] <= limit)
            out.append((f"{label}: {phase.replace('_', ' ')}", value, target, ok))
    d = e.get("derived", {})
    for key, ratio in d.get("ratio", {}).items():
        full = key.endswith("@1")
        out.append((f"real engine, wall ratio {key}", f"{ratio:.2f}", "≤ 1.2" if full else "",
                    _mark(ratio <= 1.2) if full else ""))
    for key, k in d.get("exponent", {}).items():
        stack = key.startswith("stack.") and "destroy" not in key and "CPU" not in key
        out.append((f"real engine, fitted exponent (wall ∝ resources^k), {key}", f"{k:.2f}",
                    "≤ 1.1" if stack else "", _mark(k <= 1.1) if stack else ""))
    return out
