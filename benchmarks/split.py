"""The organisation split across stacks (docs/scaling.md) against the single stack, on the real engine.

benchmarks/genconfig.py's config at a scale is written twice: whole, for one stack, and split into a
platform tree (the CAs and PKI roles, the AWS engine and roles, the KV store, the userpass mount) and N team
trees (policies, users and workloads; the platform objects a team names are declared `external: true`).
Teams are the connected groups of policies, users, namespaces and workloads (nothing of one team names
another's), dealt to the N teams by size. Each `vaultconf validate`s clean before anything runs.

Each side gets a fresh Vault dev server, kube-apiserver and file backend. The single stack runs first
preview, first up and a no-op preview (benchmarks/engine.py's scenario). The split runs the platform's first
preview and first up, then the team stacks' first previews and first ups, all teams at once (a team's
preview reads the platform's `vaultconf` output, so it comes after the platform's up), then a no-op preview
of every stack at once (what CI runs on each pull request). Every stack is its own copy of the project, as
the jobs of a CI matrix are, on one shared backend; every command goes through scripts/pulumi, timed with
benchmarks/proctree.py. A batch's wall time is from its first start to its last end, its CPU the sum.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

import yaml

from benchmarks import engine, genconfig
from tests.e2e.stack import SIDEKICK_IMAGE, copy_project
from tests.support.pulumi import Workspace

PLATFORM = "platform"
OVERLAY = "bench"
CONFIG = "split-config"
PREVIEW = ("preview", "--json")
UP = ("up", "--yes", "--skip-preview", "--json")
NOOP = ("preview", "--json", "--expect-no-changes")
OPS_USER = {"name": "platform-ops", "policies": ["default"]}  # the platform's userpass mount needs a user


# --- the split config -----------------------------------------------------------------------------------


def _teams_of(docs: dict[str, dict[str, Any]], teams: int) -> list[dict[str, list[dict[str, Any]]]]:
    """Policies, users and workloads dealt to `teams` teams: connected groups, largest first, each to the
    team with the fewest objects so far."""
    policies = {p["name"]: p for p in docs["policies.yaml"]["policies"]}
    users = {u["name"]: u for u in docs["users.yaml"]["users"]}
    workloads = docs["workloads.yaml"]["workloads"]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for u in users.values():
        for p in u["policies"]:
            join(f"u:{u['name']}", f"p:{p}")
        for ns in u.get("namespaces", []):
            join(f"u:{u['name']}", f"n:{ns}")
    for w in workloads:
        join(f"w:{w['name']}", f"n:{w['namespace']}")
        join(f"w:{w['name']}", f"u:{w['identity']['user']}")
    for name in policies:
        find(f"p:{name}")
    groups: dict[str, list[str]] = {}
    for key in list(parent):
        groups.setdefault(find(key), []).append(key)
    out: list[dict[str, list[dict[str, Any]]]] = [
        {"policies": [], "users": [], "workloads": []} for _ in range(teams)
    ]
    by_workload = {w["name"]: w for w in workloads}
    for members in sorted(groups.values(), key=len, reverse=True):
        team = min(out, key=lambda t: sum(len(v) for v in t.values()))
        for key in sorted(members):
            kind, name = key.split(":", 1)
            if kind == "p":
                team["policies"].append(policies[name])
            elif kind == "u":
                team["users"].append(users[name])
            elif kind == "w":
                team["workloads"].append(by_workload[name])
    return out


def _externals(platform: dict[str, dict[str, Any]], team: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The platform objects the team's policies and workloads name, declared `external: true`."""
    paths = [path for p in team["policies"] for path in p["rules"]]
    paths += [s["path"] for w in team["workloads"] for s in w["secrets"]]
    pki = platform["pki.yaml"]["pki"]
    cas_by_mount = {c.get("mount", c["name"]): c for c in pki["cas"]}
    roles = {(r["ca"], r["name"]) for r in pki["roles"]}
    aws = platform["aws.yaml"]["aws"]
    aws_mount = aws["engine"].get("mount", "aws")
    kv = {s["name"] for s in platform["kv.yaml"]["kv"]}
    cas: dict[str, dict[str, Any]] = {}
    pki_roles: dict[str, dict[str, Any]] = {}
    aws_roles: set[str] = set()
    stores: set[str] = set()
    for path in paths:
        mount, _, rest = path.partition("/")
        if mount in cas_by_mount and rest.startswith("issue/"):
            ca = cas_by_mount[mount]
            cas[ca["name"]] = {"name": ca["name"], "mount": mount, "external": True}
            role = rest.split("/", 1)[1]
            if (ca["name"], role) in roles:
                pki_roles[role] = {"name": role, "ca": ca["name"], "external": True}
        elif mount == aws_mount and rest.startswith("creds/"):
            aws_roles.add(rest.split("/", 1)[1])
        elif mount in kv:
            stores.add(mount)
    out: dict[str, Any] = {}
    if cas:
        out["pki"] = {"cas": list(cas.values()), "roles": list(pki_roles.values())}
    if aws_roles:
        out["aws"] = {"engine": {"mount": aws_mount, "external": True},
                      "roles": [{"name": r, "external": True} for r in sorted(aws_roles)]}
    if stores:
        out["kv"] = [{"name": s, "external": True} for s in sorted(stores)]
    return out


def split_config(scale: float, teams: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Stack name -> {file name -> YAML document} for the platform and `teams` team stacks."""
    docs = genconfig.generate(scale)
    mount = docs["users.yaml"]["settings"]["userpass_mount"]
    platform = {name: docs[name] for name in ("pki.yaml", "aws.yaml", "kv.yaml")}
    platform["users.yaml"] = {"settings": {"userpass_mount": mount}, "users": [OPS_USER]}
    out = {PLATFORM: platform}
    for i, team in enumerate(_teams_of(docs, teams)):
        out[f"team-{i}"] = {
            "team.yaml": {"settings": {"userpass_mount": mount, "create_userpass_mount": False}, **team},
            "platform.yaml": _externals(platform, team),
        }
    return out


def write_split(directory: pathlib.Path, stack: str, files: dict[str, dict[str, Any]]) -> pathlib.Path:
    root = directory / stack
    (root / "base").mkdir(parents=True)
    (root / OVERLAY).mkdir()
    for name, doc in files.items():
        (root / "base" / name).write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    (root / OVERLAY / "overlay.yaml").write_text("{}\n")
    return root


def _check(root: pathlib.Path) -> None:
    from vaultconf.config import validate

    result = validate(root, OVERLAY)
    if result.config is None or result.errors:
        raise RuntimeError(f"{root} does not validate: {[str(e) for e in result.errors][:5]}")


# --- the runs -------------------------------------------------------------------------------------------


def _batch(wss: dict[str, Workspace], args: tuple[str, ...]) -> dict[str, Any]:
    """`args` on every stack at once: per stack figures, and the batch's wall (first start to last end)."""
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(wss)) as pool:
        futures = {name: pool.submit(engine._phase, ws, (*args, "--stack", name), {})
                   for name, ws in wss.items()}
        per = {name: f.result() for name, f in futures.items()}
    out: dict[str, Any] = {"wall_s": round(time.perf_counter() - started, 2),
                           "cpu_s": round(sum(f["cpu_s"] for f in per.values()), 2), "stacks": per}
    errors = [f"{n}: {f['error']}" for n, f in per.items() if "error" in f]
    if errors:
        out["error"] = "; ".join(errors)[:1500]
    return out


def _split_scenario(
    scale: float, teams: int, work: pathlib.Path, log: Callable[[str], None]
) -> dict[str, Any]:
    from tests.support.kube import start_kube
    from tests.support.vault import start_dev

    trees = split_config(scale, teams)
    result: dict[str, Any] = {"teams": teams, "objects": {
        s: {k: len(v) for k, v in files.get("team.yaml", {}).items() if k != "settings"}
        for s, files in trees.items() if s != PLATFORM}}
    passphrase = secrets.token_urlsafe(24)
    vault = start_dev(log_level="warn")
    try:
        kube = start_kube()
        try:
            wss: dict[str, Workspace] = {}
            for stack, files in trees.items():
                project = copy_project(work / "projects" / stack)
                _check(write_split(project / CONFIG, stack, files))
                ws = Workspace(project_dir=project, state_dir=work / "state", passphrase=passphrase,
                               env_extra={"VAULT_TOKEN": vault.token})
                ws.stack_init(stack)
                values = {"vaultconf:overlay": OVERLAY, "vaultconf:configDir": f"{CONFIG}/{stack}",
                          "vaultconf:vaultAddress": vault.addr, "vaultconf:podVaultAddress": vault.addr,
                          "vaultconf:sidekickImage": SIDEKICK_IMAGE,
                          "vaultconf:kubeconfig": str(kube.kubeconfig)}
                if stack == PLATFORM:  # the AWS engine's root keys (stored by Vault; nothing calls AWS)
                    key_id = "AKIA" + secrets.token_hex(8).upper()
                    ws.config_set("vaultconf:awsAccessKey", key_id, secret=True)
                    ws.config_set("vaultconf:awsSecretKey", secrets.token_urlsafe(30), secret=True)
                else:
                    values["vaultconf:platformStack"] = f"organization/vaultconf/{PLATFORM}"
                ws.config_set_all(values)
                wss[stack] = ws
            team_wss = {s: ws for s, ws in wss.items() if s != PLATFORM}
            stages = (("platform_first_preview", {PLATFORM: wss[PLATFORM]}, PREVIEW),
                      ("platform_first_up", {PLATFORM: wss[PLATFORM]}, UP),
                      ("teams_first_preview", team_wss, PREVIEW),
                      ("teams_first_up", team_wss, UP),
                      ("all_noop_preview", wss, NOOP))
            for name, group, args in stages:
                log(f"[split] scale {scale:g} {name} ({len(group)} stack(s) at once) ...")
                result[name] = figures = _batch(group, args)
                log(f"[split]   {figures['wall_s']} s wall, {figures['cpu_s']} s CPU"
                    f"{'  ERROR ' + figures['error'][:300] if 'error' in figures else ''}")
                if "error" in figures:
                    break
            else:
                result["resources"] = {s: len(ws.resources()) for s, ws in wss.items()}
        finally:
            kube.stop()
    finally:
        vault.stop()
    for phase in ("first_preview", "first_up"):  # the critical path of a new organisation
        a, b = result.get(f"platform_{phase}"), result.get(f"teams_{phase}")
        if a and b and "error" not in a and "error" not in b:
            result[phase] = {"wall_s": round(a["wall_s"] + b["wall_s"], 2),
                             "cpu_s": round(a["cpu_s"] + b["cpu_s"], 2)}
    return result


def run(quick: bool, *, scales: list[float] | None = None, teams: int = 4,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    scales = scales or ([0.1] if quick else [0.1, 1.0])
    base = pathlib.Path(tempfile.mkdtemp(prefix="bench-split-"))
    out: dict[str, Any] = {"scales": scales, "teams": teams, "load_before": os.getloadavg(), "runs": []}
    try:
        for scale in scales:
            single = engine.scenario("stack", scale, base, ("first_preview", "first_up", "noop_preview"),
                                     log=log)
            work = base / f"split-{scale:g}"
            work.mkdir()
            split = _split_scenario(scale, teams, work, log)
            shutil.rmtree(work, ignore_errors=True)
            out["runs"].append({"scale": scale, "single": single, "split": split,
                                "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                "load": [round(x, 1) for x in os.getloadavg()]})
    finally:
        shutil.rmtree(base, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    return out


def rows(s: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, target, met?) rows for benchmarks/results.md."""
    out: list[tuple[str, str, str, str]] = []
    for r in s.get("runs", []):
        single, split = r["single"], r["split"]
        n = split.get("teams", s.get("teams"))
        label = f"split ({n} teams at once) vs single stack, scale {r['scale']:g}"
        for phase, single_phase in (("first_preview", "first_preview"), ("first_up", "first_up"),
                                    ("all_noop_preview", "noop_preview")):
            a, b = split.get(phase), single.get(single_phase)
            if not isinstance(a, dict) or not isinstance(b, dict) or "error" in b:
                err = (a or {}).get("error") or (b or {}).get("error") or "not reached"
                out.append((f"{label}: {phase.replace('_', ' ')}", f"failed: {str(err)[:200]}", "", ""))
                continue
            value = (f"split {a['wall_s']:.1f} s wall ({a['cpu_s']:.1f} s CPU) / single {b['wall_s']:.1f} s "
                     f"({b['cpu_s']:.1f} s CPU): speed-up {b['wall_s'] / a['wall_s']:.2f}x")
            if phase != "all_noop_preview":
                p, t = split[f"platform_{phase}"], split[f"teams_{phase}"]
                value += f"; platform {p['wall_s']:.1f} s, then the teams {t['wall_s']:.1f} s"
            out.append((f"{label}: {phase.replace('_', ' ')}", value, "", ""))
        res = split.get("resources")
        if isinstance(res, dict):
            out.append((f"{label}: resources per stack (single: {single.get('resources', '?')})",
                        ", ".join(f"{k} {v}" for k, v in res.items()) + f" [load {r['load'][0]:g}]", "", ""))
    return out
