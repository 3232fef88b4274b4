"""The typed flat program for the real engine: the stack's custom resources, written out by hand.

`benchmarks/program.py` compares the stack with a flat program under mocks, where no input ever depends on a
real output. Under the real engine they do: an intermediate CA is signed with the CSR Vault generated, a
userpass user gets the password the random provider made, a Kubernetes Secret carries it. So the recording
keeps the mocks' computed outputs, and every input string that holds one of a dependency's mock outputs
becomes a reference to that dependency's real output (an `Output.apply` that splices it in), as a
hand-written program would pass `csr.csr` or `password.result`. Everything else is a literal: the same
types, names and inputs, registered through the provider SDKs' classes with explicit providers.
"""

from __future__ import annotations

import base64
import json
import pathlib
import runpy
from collections.abc import Mapping
from typing import Any

from vaultconf.testing import MockRun, RecordingMocks, default_outputs, run_under_mocks

from tests.stack._program import SECRETS, stack_config

# The flat program itself: reads resources.json beside it. Kept free of project imports so it costs what a
# hand-written program costs: the SDKs, json, and one loop.
PROGRAM = '''\
import base64
import importlib
import json
import pathlib
import re

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

config = pulumi.Config("vaultconf")
providers = {
    "vault": vault.Provider("vault", address=config.require("vaultAddress")),
    "kubernetes": k8s.Provider("kubernetes", kubeconfig=config.get("kubeconfig"),
                               enable_server_side_apply=True),
}
records = json.loads((pathlib.Path(__file__).parent / "resources.json").read_text())
made = []


def sdk_class(token):
    package, module, name = token.split(":")
    parts = module.split("/")
    if package == "kubernetes":
        where = importlib.import_module("pulumi_kubernetes." + ".".join(parts))
    elif parts[0] == "index":
        where = importlib.import_module("pulumi_" + package)
    else:
        where = importlib.import_module("pulumi_" + package + "." + parts[0].lower())
    return getattr(where, name)


def snake(key):
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def output_of(index, key):
    res = made[index]
    return res.id if key == "$id" else getattr(res, snake(key))


def resolve(value):
    if isinstance(value, dict) and "$splice" in value:
        template, refs = value["$splice"], value["refs"]
        parts = [output_of(i, k) for _, i, k, _ in refs]

        def fill(resolved, template=template, refs=refs):
            text = template
            for (marker, _, _, encoding), real in zip(refs, resolved):
                real = str(real)
                if encoding == "base64":  # a Kubernetes Secret's data
                    real = base64.b64encode(real.encode()).decode()
                text = text.replace(marker, real)
            return text
        return pulumi.Output.all(*parts).apply(fill)
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


for rec in records:
    cls = sdk_class(rec["type"])
    args = {snake(k): resolve(v) for k, v in rec["inputs"].items()}
    # the stack's dependency graph, as a hand-written program gets it from passing outputs along
    opts = pulumi.ResourceOptions(provider=providers.get(rec["type"].split(":")[0]),
                                  depends_on=[made[i] for i in rec["deps"]])
    made.append(cls(rec["name"], **args, opts=opts))
'''

AWAITED = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")
MIN_MARKER = 8  # shorter mock outputs ("mock", small numbers) would match by accident


def _recording_outputs() -> tuple[dict[tuple[str, str], dict[str, Any]], Any]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}

    def outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        out = default_outputs(typ, name, inputs)
        seen[(typ, name)] = out
        return out
    return seen, outputs


def record(program_main: pathlib.Path, stack: str) -> tuple[MockRun, dict[tuple[str, str], dict[str, Any]]]:
    """Run the stack program under recording mocks; (the run, (type, name) → computed mock outputs)."""
    seen, outputs = _recording_outputs()
    cfg = stack_config(stack)
    run = run_under_mocks(lambda: runpy.run_path(str(program_main), run_name="__main__"),
                          project="vaultconf", stack=stack, config=cfg,
                          secret_config=tuple(k for k in cfg if k.split(":", 1)[1] in SECRETS),
                          mocks=RecordingMocks(outputs))
    return run, seen


Marker = tuple[str, int, str, str]  # (mock value, index of the resource, output key, encoding)


def _markers(rec_index: dict[str, int], deps: tuple[str, ...], outputs_by_urn: dict[str, dict[str, Any]],
             ids: dict[str, str]) -> list[Marker]:
    found: list[Marker] = []
    for urn in deps:
        if urn not in rec_index:
            continue
        for key, value in outputs_by_urn.get(urn, {}).items():
            if isinstance(value, str) and len(value) >= MIN_MARKER:
                found.append((value, rec_index[urn], key, ""))
                found.append((base64.b64encode(value.encode()).decode(), rec_index[urn], key, "base64"))
        found.append((ids[urn], rec_index[urn], "$id", ""))
    # longest first: a mock serial number is a prefix of the mock certificate that holds it
    return sorted(found, key=lambda m: -len(m[0]))


def _rewrite(value: Any, markers: list[Marker]) -> Any:
    if isinstance(value, str):
        refs: list[list[Any]] = []
        for m, i, k, e in markers:  # one reference per value (cert, CA and bundle share one mock value)
            if m in value and not any(m in taken[0] for taken in refs):
                refs.append([m, i, k, e])
        return {"$splice": value, "refs": refs} if refs else value
    if isinstance(value, dict):
        return {k: _rewrite(v, markers) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, markers) for v in value]
    return value


# The same SDK workaround the stack uses (vaultconf/settle.py): with it, the flat program is the like-for-like
# baseline for the stack's own overhead; without it, it is what a hand-written program costs today.
SETTLE = """
from vaultconf.settle import install

install()
"""


def write(run: MockRun, outputs: dict[tuple[str, str], dict[str, Any]], dest: pathlib.Path,
          settle: bool = False) -> int:
    """Write the flat program (dest/__main__.py + resources.json); returns how many resources it registers."""
    customs = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    rec_index = {r.urn: i for i, r in enumerate(customs)}
    by_urn = {r.urn: outputs.get((r.type, r.name), {}) for r in customs}
    ids = {r.urn: r.id for r in customs}
    names: set[tuple[str, str]] = set()
    records = []
    for i, rec in enumerate(customs):
        name = rec.name if (rec.type, rec.name) not in names else f"{rec.name}-{i}"
        names.add((rec.type, name))
        inputs = _rewrite(rec.inputs, _markers(rec_index, rec.dependencies, by_urn, ids))
        if rec.type in AWAITED:  # as tests/e2e/stack.py ENTRY does for the stack: no kubelet runs here
            meta = inputs.setdefault("metadata", {})
            meta["annotations"] = {**(meta.get("annotations") or {}), "pulumi.com/skipAwait": "true"}
        deps = sorted({rec_index[u] for u in rec.dependencies if u in rec_index})
        records.append({"type": rec.type, "name": name, "inputs": inputs, "deps": deps})
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "__main__.py").write_text(PROGRAM + (SETTLE if settle else ""), encoding="utf-8")
    (dest / "resources.json").write_text(json.dumps(records), encoding="utf-8")
    return len(records)
