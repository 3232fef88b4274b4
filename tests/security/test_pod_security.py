"""Every pod the stack emits passes the restricted Pod Security Standard; the checker itself catches
each control (so a green run means something)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.security.pss import pod_templates, restricted_violations
from tests.stack._program import run_stack

WORKLOAD_TYPES = {"kubernetes:apps/v1:Deployment": "Deployment", "kubernetes:batch/v1:Job": "Job",
                  "kubernetes:batch/v1:CronJob": "CronJob", "kubernetes:apps/v1:StatefulSet": "StatefulSet",
                  "kubernetes:apps/v1:DaemonSet": "DaemonSet"}


def _pods(stack: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    run = run_stack(stack)
    pods = []
    for rec in run.resources:
        kind = WORKLOAD_TYPES.get(rec.type)
        if kind is None:
            continue
        template = pod_templates(kind, rec.inputs.get("spec") or {})
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        pods.append((f"{kind} {rec.name}", dict(template.get("spec") or {}), dict(annotations)))
    return pods


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_pods_are_restricted(stack: str) -> None:
    pods = _pods(stack)
    kinds = {name.split()[0] for name, _, _ in pods}
    assert {"Deployment", "Job"} <= kinds, f"expected a Deployment and a Job in {stack}, got {sorted(kinds)}"
    problems = {name: v for name, spec, ann in pods if (v := restricted_violations(spec, ann))}
    assert not problems, problems
    for name, spec, _ in pods:
        assert spec.get("containers"), f"{name}: no containers"
        assert any("sidekick" in c.get("name", "") for _, c in _all(spec)), f"{name}: no sidekick container"


def _all(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, c) for k in ("initContainers", "containers") for c in spec.get(k) or []]


GOOD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "x", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "s", "emptyDir": {"medium": "Memory"}},
                {"name": "c", "secret": {"secretName": "x"}}],
}

MUTATIONS = {
    "hostNetwork": lambda s: s.update(hostNetwork=True),
    "hostPID": lambda s: s.update(hostPID=True),
    "hostIPC": lambda s: s.update(hostIPC=True),
    "hostPath": lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
    "nfs volume": lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}),
    "privileged": lambda s: s["containers"][0]["securityContext"].update(privileged=True),
    "privilege escalation": lambda s: s["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"),
    "no drop ALL": lambda s: s["containers"][0]["securityContext"].update(capabilities={}),
    "add SYS_ADMIN": lambda s: s["containers"][0]["securityContext"]["capabilities"].update(
        add=["SYS_ADMIN"]),
    "runAsNonRoot unset": lambda s: s["securityContext"].pop("runAsNonRoot"),
    "runAsUser 0": lambda s: s["containers"][0]["securityContext"].update(runAsUser=0),
    "seccomp unset": lambda s: s["securityContext"].pop("seccompProfile"),
    "seccomp Unconfined": lambda s: s["containers"][0]["securityContext"].update(
        seccompProfile={"type": "Unconfined"}),
    "hostPort": lambda s: s["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}]),
    "unsafe sysctl": lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    "procMount": lambda s: s["containers"][0]["securityContext"].update(procMount="Unmasked"),
    "init container root": lambda s: s.setdefault("initContainers", []).append(
        {"name": "init", "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": False,
                                             "capabilities": {"drop": ["ALL"]}}}),
    "apparmor unconfined": lambda s: s["securityContext"].update(appArmorProfile={"type": "Unconfined"}),
    "selinux user": lambda s: s["securityContext"].update(seLinuxOptions={"user": "root"}),
}


def test_checker_accepts_a_restricted_pod() -> None:
    assert restricted_violations(GOOD) == []


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_checker_catches_each_control(mutation: str) -> None:
    spec = copy.deepcopy(GOOD)
    MUTATIONS[mutation](spec)
    assert restricted_violations(spec), f"{mutation} was not flagged"
