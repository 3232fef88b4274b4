"""`python -m benchmarks [--quick] [--only program,agent,outage,engine,split] [--window SECONDS]`.

Prints a table and writes benchmarks/results.md (method, machine, figures, targets met or not).
Full mode: program evaluation 3 repeats (median), sidekick vs agent over 180 s, the real engine at scales
0.1, 0.3 and 1.0, the split organisation against the single stack at 0.1 and 1.0. Quick: 1 repeat, 60 s,
the real engine at 0.1 and 0.3 (benchmarks/engine.py), the split at 0.1 (benchmarks/split.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time
import traceback
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results.md"
SECTIONS = ("program", "agent", "outage", "engine", "split")


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {"cpus (nproc)": str(os.cpu_count()), "cpu": model, "memory": mem, "load average at start": load,
            "python": platform.python_version(), "kernel": platform.release()}


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, met?) for the table."""
    out: list[tuple[str, str, str, str]] = []
    p = results.get("program")
    if isinstance(p, dict) and "full" in p:
        f = p["full"]
        out += [
            ("stack program, full config, CPU s (wall s)", f"{f['stack_cpu']:.1f} ({f['stack_wall']:.1f})",
             "", ""),
            ("flat program, same resources, CPU s (wall s)",
             f"{f['flat_cpu']:.1f} ({f['flat_wall']:.1f})", "", ""),
            ("ratio stack/flat (CPU; wall)", f"{p['ratio_cpu']:.2f}; {p['ratio_wall']:.2f}", "≤ 1.2",
             _mark(p["ratio_cpu"] <= 1.2)),
            ("flat program through the SDK classes, CPU s (wall s)",
             f"{f['typed_cpu']:.1f} ({f['typed_wall']:.1f})", "", ""),
            ("ratio stack/flat with SDK classes (CPU; wall)",
             f"{p['ratio_typed_cpu']:.2f}; {p['ratio_typed_wall']:.2f}", "≤ 1.2",
             _mark(p["ratio_typed_cpu"] <= 1.2)),
            ("scaling full/tenth (CPU; wall)", f"{p['scaling_cpu']:.2f}x; {p['scaling_wall']:.2f}x",
             "≤ 11x for 10x",
             _mark(p["scaling_cpu"] <= 11)),
            ("scaling of the flat program itself (CPU)", f"{p['flat_scaling_cpu']:.2f}x", "", ""),
            ("`vaultconf validate` full config, CLI wall s (CPU s)",
             f"{p['validate']['cli_wall']:.2f} ({p['validate']['cli_cpu']:.2f})", "≤ 0.5 s",
             _mark(p["validate"]["cli_cpu"] <= 0.5)),
            ("validate() call in-process, CPU s", f"{p['validate']['call_cpu']:.2f}", "", ""),
        ]
    a = results.get("agent")
    if isinstance(a, dict) and "sk" not in a and "sidekick" in a:
        s, g = a["sidekick"], a["agent"]
        out += [
            ("steady RSS MiB, sidekick / agent (median)", f"{s['rss_median_mib']} / {g['rss_median_mib']}",
             "≤ 20 and ≤ agent",
             _mark(s["rss_median_mib"] <= 20 and s["rss_median_mib"] <= g["rss_median_mib"])),
            ("RssAnon MiB, sidekick / agent (median)",
             f"{s.get('rss_anon_median_mib')} / {g.get('rss_anon_median_mib')}", "", ""),
            ("PSS MiB, sidekick / agent (median)", f"{s.get('pss_median_mib')} / {g.get('pss_median_mib')}",
             "", ""),
            ("sidekick VmRSS MiB with 3 secrets (median)", f"{s['rss_median_mib']}", "≤ 12",
             _mark(s["rss_median_mib"] <= 12)),
            ("CPU s per hour, sidekick / agent", f"{s['cpu_s_per_h']} / {g['cpu_s_per_h']}", "", ""),
            ("start → all files written s, sidekick / agent",
             f"{s['first_files_s']} / {g['first_files_s']}", "", ""),
            ("Vault requests per hour (audit log), sidekick / agent",
             f"{s['requests_per_h']} / {g['requests_per_h']}", "", ""),
        ]
        k = a.get("sidekick_50")
        if isinstance(k, dict):
            out += [
                ("sidekick, 50 secrets: VmRSS / RssAnon / PSS MiB (median)",
                 f"{k['rss_median_mib']} / {k['rss_anon_median_mib']} / {k['pss_median_mib']}", "VmRSS ≤ 16",
                 _mark(k["rss_median_mib"] <= 16)),
                ("sidekick, 50 secrets: CPU s per hour; Vault requests per hour",
                 f"{k['cpu_s_per_h']}; {k['requests_per_h']}", "", ""),
            ]
        out += [
            ("sidekick image (OCI tar) MiB / vault binary MiB",
             f"{a['images']['sidekick_oci_tar_mib']} / {a['images']['vault_binary_mib']}", "", ""),
        ]
    e = results.get("engine")
    if isinstance(e, dict) and "runs" in e:
        from benchmarks import engine
        out += engine.rows(e)
    sp = results.get("split")
    if isinstance(sp, dict) and "runs" in sp:
        from benchmarks import split
        out += split.rows(sp)
    o = results.get("outage")
    if isinstance(o, dict) and "down_at_start" in o:
        login = o["down_at_start"]["login"]
        out.append(("down at start: login attempts/min at 1, 5, 15 min",
                    f"{login['1']}, {login['5']}, {login['15']}", "≤ 2/min",
                    _mark(max(login["1"], login["5"], login["15"]) <= 2)))
        for name, r in o["down_mid_run"].items():
            out.append((f"down mid-run, {name}: req/min at 1, 5, 15 min (peak minute)",
                        f"{r['1']}, {r['5']}, {r['15']} ({r['peak']}, worst {r['peak_max']})", "≤ 2/min",
                        _mark(max(r["1"], r["5"], r["15"]) <= 2)))
        lo, hi = o["vault_sidekick_per_min"]
        out.append(("vault-sidekick (documented 3-10 s retry), req/min/resource", f"{lo:g}-{hi:g}", "", ""))
    return out


def table(rs: list[tuple[str, str, str, str]]) -> str:
    lines = ["| measure | value | target | |", "| --- | --- | --- | --- |"]
    lines += [f"| {m} | {v} | {t} | {ok} |" for m, v, t, ok in rs]
    return "\n".join(lines)


METHOD = """\
## Method

* **Program evaluation.** `benchmarks/genconfig.py` writes a config in the stack's YAML format (1,000
  users, 500 policies, 50 CAs = 10 roots + 40 intermediates, 200 PKI roles, 100 AWS roles, 300 workloads,
  each workload reading KV, a certificate and AWS credentials granted by its user's policy;
  `vaultconf validate` is clean). The real `infra/__main__.py` is copied next to it and run under the
  recording Pulumi mocks (`vaultconf.testing`). The *flat* program replays the same custom
  resources (type, name, inputs) with bare `pulumi.CustomResource` calls: no YAML, no validation, no
  components; a second flat program makes the same calls through the provider SDKs' classes
  (`vault.Policy(...)`, `k8s.core.v1.Secret(...)`), as a program written out by hand would.
  Ratio = stack/flat; scaling = full/tenth (0.1x config). CPU seconds of the process are the
  headline (wall time on a shared, loaded machine mostly measures the other tenants); wall is shown too.
  `vaultconf validate` is timed as a user runs it (a fresh process: interpreter start, imports, schema)
  and as an in-process call.
* **Sidekick vs `vault agent`.** One dev Vault (`.engines/bin/vault`) with a file audit device; both run at
  the same time against it, each with its own AppRole mount and policy (so every audit entry is
  attributable). Same secrets: KV v2 (re-read every 5 min by both), a PKI certificate with a 60 s TTL
  (crt/key/ca), and a leased secret with a 60 s TTL: an SSH one-time password from `ssh/creds/otp` (a real,
  revocable Vault lease that needs no external system; AWS or a database are not reachable here). Agent
  renders the same five files with templates. After both have written every file and a 10 s warm-up, the
  window starts: RSS (VmRSS) sampled each second (median), CPU from /proc/PID/stat (utime+stime) scaled to
  an hour, Vault requests counted in the audit log over the window and scaled to an hour.
* **Real engine** (`benchmarks/engine.py`). The stack (the e2e harness's copy of `infra/`, on the
  generated config at scales 0.1, 0.3 and, in full mode, 1.0) and the typed flat program
  (`benchmarks/engine_flat.py`: the same custom resources, recorded from the stack under mocks, registered
  through the provider SDK classes with explicit providers and the stack's dependency graph; inputs that hold
  another resource's output, a CSR, a certificate, a password, are wired to that resource's real output),
  twice: as written by hand, and "flat+settle" ending with `vaultconf.settle.install()` as the stack does
  (the Python SDK's drain-loop fix, docs/scaling.md: the like-for-like baseline). Each on a fresh
  `vault server -dev`, a fresh kube-apiserver + etcd and a fresh file backend, through the
  real CLI via `scripts/pulumi` (PULUMI_SKIP_CHECKPOINTS, docs/scaling.md), default `--parallel`. Phases:
  first preview, first `up --skip-preview`, no-op preview and no-op preview `--refresh` (both with
  `--expect-no-changes`: a change fails the run), destroy. Wall time; CPU of the whole process tree from
  wait4(); per process kind (engine = the `pulumi` CLI, language host, program, each provider) CPU and peak
  RSS (VmHWM) sampled from /proc every 0.25 s (`benchmarks/proctree.py`). "per-step checkpoints" runs set
  PULUMI_SKIP_CHECKPOINTS=false (scales < 1 only). Exponent: least-squares slope of log(wall) on
  log(resources in the state after `up`). Destroy waits for the API server's namespace finalizers, so its
  wall time is mostly waiting. The machine is shared: load averages before and after are in the raw figures.
* **Split organisation** (`benchmarks/split.py`). The same generated config, whole for one stack and split
  into a platform stack (CAs, PKI roles, AWS engine and roles, KV store, userpass mount, and one ops user the
  mount needs) and 4 team stacks (connected groups of policies, users, namespaces and workloads; the platform
  objects each names declared `external: true`, docs/scaling.md). Fresh engines for each side. Single: first
  preview, first up, no-op preview. Split: the platform's first preview and up, then the 4 teams' first
  previews and ups at once (a team reads the platform's `vaultconf` output), then a no-op preview of all 5
  at once. Each stack is its own project copy on one shared file backend (a CI matrix); "first preview" and
  "first up" of the split are platform + teams (the critical path of a new organisation); CPU is the sum.
* **Outage.** Simulated time, honestly: the sidekick has no fast-forward knob, so the real scheduler and
  backoff code (`sidekick.scheduler.Sidekick.run`) are driven with an injected clock whose sleep advances
  instantly (20 jitter seeds, means). *Down at start*: the real socket client against a closed port
  (every attempt a real connection refused). *Down mid-run*: the test suite's in-memory Vault double serves
  a healthy start (10-minute token, lease and certificate) and then refuses everything for 16 minutes;
  requests counted per resource. "At m min" = requests in the minute starting m minutes into the outage;
  "peak" = the busiest minute (mean over seeds; worst seed). vault-sidekick's README documents a fixed
  3-10 s retry: 6-20 requests per minute per resource for as long as the outage lasts.
"""


def previous_results() -> dict[str, Any]:
    """The raw figures of the results.md on disk (for sections this invocation did not run)."""
    try:
        text = RESULTS.read_text()
        raw = text.split("## Raw figures", 1)[1].split("```json", 1)[1].split("```", 1)[0]
        return dict(json.loads(raw))
    except (OSError, IndexError, ValueError):
        return {}


def write_results(results: dict[str, Any], mode: str, started: str, elapsed: float) -> str:
    carried = {k: v for k, v in previous_results().items() if k in SECTIONS and k not in results}
    results = {**results, **carried}
    m = results["machine"]
    parts = [
        "# Benchmarks",
        "",
        f"Run: `python -m benchmarks{' --quick' if mode == 'quick' else ''}` ({mode} mode), {started}, "
        f"{elapsed:.0f} s.",
        "",
        "## Machine",
        "",
        "\n".join(f"* {k}: {v}" for k, v in m.items()),
        "",
        "## Figures",
        "",
        table(rows(results)),
        "",
    ]
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    errors.update({k: "not run in this invocation (--only)" for k in SECTIONS if k not in results})
    errors.update({k: "not run in this invocation (--only): its figures are carried over from the previous "
                      "results.md, measured in an earlier run" for k in carried})
    if errors:
        parts += ["## Not measured in this run", ""]
        parts += [f"* {k}: {v}" for k, v in errors.items()]
        parts.append("")
    parts += [METHOD, "## Raw figures", "", "```json", json.dumps(results, indent=1, default=str), "```", ""]
    text = "\n".join(parts)
    RESULTS.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, 60 s agent window")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    ap.add_argument("--window", type=float, default=None, help="sidekick vs agent window, seconds")
    ap.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    ap.add_argument("--engine-scales", default="", help="real engine: only these scales (e.g. 1.0); the "
                    "other scales' runs are kept from results.md")
    ap.add_argument("--split-scales", default="", help="split vs single: these scales (default: quick 0.1, "
                    "full 0.1,1.0)")
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    mode = "quick" if args.quick else "full"
    window = args.window or (60.0 if args.quick else 180.0)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.monotonic()
    results: dict[str, Any] = {"machine": machine()}
    for section in SECTIONS:
        if section not in only:
            continue
        print(f"[bench] {section} ...", file=sys.stderr, flush=True)
        try:
            if section == "program":
                from benchmarks import program
                results[section] = program.run(args.quick)
            elif section == "engine":
                from benchmarks import engine
                scales = [float(x) for x in args.engine_scales.split(",")] if args.engine_scales else None
                fresh = engine.run(args.quick, scales=scales,
                                   log=lambda m: print(m, file=sys.stderr, flush=True))
                # runs at scales not re-measured now are kept from results.md (each run says when it ran)
                results[section] = engine.merge(previous_results().get("engine"), fresh) if scales else fresh
            elif section == "split":
                from benchmarks import split
                scales = [float(x) for x in args.split_scales.split(",")] if args.split_scales else None
                results[section] = split.run(args.quick, scales=scales,
                                             log=lambda m: print(m, file=sys.stderr, flush=True))
            elif section == "agent":
                from benchmarks import agent
                results[section] = agent.run(window)
            else:
                from benchmarks import outage
                results[section] = outage.run(args.quick)
        except Exception as exc:
            traceback.print_exc()
            first = str(exc).splitlines()[0] if str(exc) else ""
            results[section] = {"error": f"{type(exc).__name__}: {first}"}
    print(table(rows(results)))
    if not args.no_write:
        write_results(results, mode, started, time.monotonic() - t0)
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
