"""The real `infra/` stack against a real Vault dev server and a real Kubernetes API server.

Plain Python, shared by the end-to-end test (tests/e2e/test_stack_e2e.py) and `make demo` (scripts/demo.sh
runs `python -m tests.e2e.stack`). Nothing here is mocked: the Pulumi CLI, the language host and the
providers are the ones `make engines` built, Vault is `vault server -dev`, Kubernetes is kube-apiserver
on etcd, and AWS is moto's server on 127.0.0.1 (tests/support/moto.py): the stack's AWS engine is pointed at
it with iam_endpoint/sts_endpoint, so Vault really creates (and at destroy deletes) the workloads' IAM users.

The project is a copy of Pulumi.yaml and infra/ in a work directory, so the test can edit the YAML (remove a
user, bump a rotation counter) without touching the repository, and the stack's config file lands there too.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.support.pulumi import ROOT, Workspace, change_summary, new_workspace

STACK = "e2e"
OVERLAY = "dev"
SIDEKICK_IMAGE = "localhost/vaultconf-sidekick:e2e"


@dataclass
class StackEnv:
    """A running Vault + API server and a Pulumi workspace on a copy of the stack."""

    vault: Any  # tests.support.vault.VaultDevServer
    kube: Any  # tests.support.kube.KubeAPIServer
    ws: Workspace
    project: pathlib.Path
    moto: Any = None  # tests.support.moto.MotoServer: the AWS engine's IAM/STS endpoint

    @property
    def config_dir(self) -> pathlib.Path:
        return self.project / "infra" / "config"


# The test cluster runs no kubelet, so Deployments and Jobs never become ready: the program runs unchanged
# under this entry point, which only adds `pulumi.com/skipAwait: "true"` to them (a stack transformation).
ENTRY = """\
import pathlib
import runpy

import pulumi

AWAITED = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")


def _with_skip_await(annotations):
    return {**(annotations or {}), "pulumi.com/skipAwait": "true"}


def _skip_await(args):
    if args.type_ not in AWAITED:
        return None
    props = dict(args.props)
    meta = props.get("metadata")
    if meta is None or isinstance(meta, dict):
        meta = dict(meta or {})
        meta["annotations"] = pulumi.Output.from_input(meta.get("annotations")).apply(_with_skip_await)
    else:  # an ObjectMetaArgs
        current = pulumi.get(meta, "annotations")
        pulumi.set(meta, "annotations", pulumi.Output.from_input(current).apply(_with_skip_await))
    props["metadata"] = meta
    return pulumi.ResourceTransformationResult(props, args.opts)


pulumi.runtime.register_stack_transformation(_skip_await)
runpy.run_path(str(pathlib.Path(__file__).resolve().parent.parent / "infra"), run_name="__main__")
"""


def copy_project(dest: pathlib.Path) -> pathlib.Path:
    """Pulumi.yaml + infra/ copied to DEST and run through ENTRY, with the repository's venv."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "infra", dest / "infra", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    dirs_exist_ok=True)
    (dest / "e2e").mkdir(exist_ok=True)
    (dest / "e2e" / "__main__.py").write_text(ENTRY, encoding="utf-8")
    text = (ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    text = text.replace("virtualenv: .venv", f"virtualenv: {ROOT / '.venv'}")
    text = re.sub(r"(?m)^main: .*$", "main: e2e/", text)
    (dest / "Pulumi.yaml").write_text(text, encoding="utf-8")
    return dest


def seed_keys(config_dir: pathlib.Path, overlay: str) -> list[str]:
    """The Pulumi secrets the YAML needs: one per seeded KV key (config.settings.seed_config_key)."""
    from vaultconf.config import validate
    from vaultconf.config.settings import seed_config_key

    result = validate(config_dir, overlay)
    if result.config is None:
        raise RuntimeError(f"infra/config ({overlay}) does not validate: {[str(e) for e in result.errors]}")
    keys = [seed_config_key(store.name, s.name, k)
            for store in result.config.kv for s in store.secrets for k in s.keys]
    return keys


def init_stack(env: StackEnv, overlay: str) -> Workspace:
    """Create the stack and set the settings every test stack shares: the overlay and the test engines."""
    ws = env.ws
    ws.stack_init(STACK)
    ws.config_set("vaultconf:overlay", overlay)
    ws.config_set("vaultconf:vaultAddress", env.vault.addr)
    ws.config_set("vaultconf:podVaultAddress", env.vault.addr)
    ws.config_set("vaultconf:sidekickImage", SIDEKICK_IMAGE)
    ws.config_set("vaultconf:kubeconfig", str(env.kube.kubeconfig))
    ws.config_set("vaultconf:kubernetesCaCert", env.kube.ca_pem)
    return ws


def configure(env: StackEnv, overlay: str = OVERLAY) -> dict[str, str]:
    """Create the stack and set its config; returns the seeded KV values (key → value) for later checks."""
    # Vault runs outside this cluster, so its kubernetes auth reaches the API server at its own URL, as the
    # operator of an external Vault writes it in the YAML (Pulumi config kubernetesCaCert carries the CA)
    k8s_yaml = env.config_dir / "base" / "kubernetes.yaml"
    text = k8s_yaml.read_text(encoding="utf-8")
    if "https://kubernetes.default.svc" not in text:
        raise RuntimeError(f"{k8s_yaml} no longer names kubernetes_host https://kubernetes.default.svc")
    k8s_yaml.write_text(text.replace("https://kubernetes.default.svc", env.kube.url), encoding="utf-8")
    if env.moto is not None:
        # the AWS engine talks to moto, as an operator points it at a private IAM/STS endpoint in the YAML
        aws_yaml = env.config_dir / "base" / "aws.yaml"
        text = aws_yaml.read_text(encoding="utf-8")
        if "\n    region: " not in text:
            raise RuntimeError(f"{aws_yaml} no longer sets aws.engine.region")
        endpoints = f"\n    iam_endpoint: {env.moto.url}\n    sts_endpoint: {env.moto.url}\n    region: "
        aws_yaml.write_text(text.replace("\n    region: ", endpoints, 1), encoding="utf-8")
    ws = init_stack(env, overlay)
    # AWS root credentials: moto (the engine's endpoint) accepts any key; real accounts never see them.
    ws.config_set("vaultconf:awsAccessKey", "AKIA" + secrets.token_hex(8).upper(), secret=True)
    ws.config_set("vaultconf:awsSecretKey", secrets.token_urlsafe(30), secret=True)
    seeded = {}
    for key in seed_keys(env.config_dir, overlay):
        seeded[key] = secrets.token_urlsafe(18)
        ws.config_set(f"vaultconf:{key}", seeded[key], secret=True)
    return seeded


@contextlib.contextmanager
def stack_env(workdir: pathlib.Path) -> Iterator[StackEnv]:
    """Vault + API server + workspace; everything is stopped on exit (the stack is destroyed first)."""
    from tests.support.kube import start_kube
    from tests.support.moto import start_moto
    from tests.support.vault import start_dev

    project = copy_project(workdir / "project")
    # moto outlives Vault: destroying the stack unmounts the AWS engine, which revokes its leases (deletes
    # the IAM users) through moto
    moto = start_moto(workdir=workdir / "moto")
    try:
        vault = start_dev()
        try:
            kube = start_kube()
            try:
                ws = new_workspace(project, state_dir=workdir / "state", env={"VAULT_TOKEN": vault.token})
                yield StackEnv(vault=vault, kube=kube, ws=ws, project=project, moto=moto)
            finally:
                kube.stop()
        finally:
            vault.stop()
    finally:
        moto.stop()


# Resource types the sidekick cannot deliver here: none (AWS is moto, see stack_env); kept so a future
# engine without a local stand-in has one place to be listed.
NEEDS_OUTSIDE_SYSTEMS: tuple[str, ...] = ()


@dataclass
class Delivery:
    """What one sidekick run, fed from a workload's own pod spec, delivered."""

    returncode: int
    output_dir: pathlib.Path
    files: dict[str, pathlib.Path]  # resource name → the file it wrote (for cert: the .crt)
    skipped: list[str]  # resources left out (NEEDS_OUTSIDE_SYSTEMS)
    log: str


def _pod_spec(env: StackEnv, namespace: str, kind: str, name: str) -> dict[str, Any]:
    group, collection = ("batch", "jobs") if kind == "Job" else ("apps", "deployments")
    items = env.kube.get(f"/apis/{group}/v1/namespaces/{namespace}/{collection}").get("items") or []
    (obj,) = [i for i in items if i["metadata"]["name"] == name or name in i["metadata"]["name"]]
    return obj["spec"]["template"]["spec"]


def _project(local: pathlib.Path, files: dict[str, bytes], mode: int) -> None:
    """Write FILES into LOCAL the way kubelet updates a Secret or ConfigMap volume: a new timestamped
    directory, an atomic swap of the `..data` symlink to it, and per-key symlinks through `..data`."""
    local.mkdir(parents=True, exist_ok=True)
    version = local / f"..{time.time_ns()}"
    version.mkdir()
    for key, data in files.items():
        (version / key).write_bytes(data)
        (version / key).chmod(mode)
    tmp = local / "..data_tmp"
    tmp.symlink_to(version.name)
    old = os.readlink(local / "..data") if (local / "..data").is_symlink() else None
    os.replace(tmp, local / "..data")
    for key in files:
        if not (local / key).is_symlink():
            (local / key).symlink_to(f"..data/{key}")
    if old:
        shutil.rmtree(local / old, ignore_errors=True)


@dataclass
class PodMounts:
    """A workload's sidekick container with its volumes laid out locally as kubelet would mount them, and
    its config with the container's mount paths mapped onto those directories."""

    env: StackEnv
    namespace: str
    pod: dict[str, Any]
    mapping: dict[str, pathlib.Path]  # mountPath → local directory
    config: dict[str, Any]
    workdir: pathlib.Path

    def sync_secrets(self) -> None:
        """Re-read every Secret/ConfigMap volume from the API server and swap it in (kubelet's sync)."""
        (sidekick,) = [c for c in _containers(self.pod) if "sidekick" in c["name"]]
        volumes = {v["name"]: v for v in self.pod.get("volumes") or []}
        for mount in sidekick.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            source = volume.get("secret") or volume.get("configMap")
            if source is None:
                continue
            base = f"/api/v1/namespaces/{self.namespace}"
            if "secret" in volume:
                data = self.env.kube.get(f"{base}/secrets/{source['secretName']}")
                found = {k: base64.b64decode(v) for k, v in (data.get("data") or {}).items()}
            else:
                data = self.env.kube.get(f"{base}/configmaps/{source['name']}")
                found = {k: v.encode() for k, v in (data.get("data") or {}).items()}
            items = source.get("items") or [{"key": k, "path": k} for k in found]
            _project(self.mapping[mount["mountPath"]], {i["path"]: found[i["key"]] for i in items},
                     int(source.get("defaultMode", 0o644)))

    def write_config(self, **overrides: Any) -> pathlib.Path:
        config = {**self.config, **overrides}
        path = self.workdir / "sidekick.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return path


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod.get("initContainers") or []) + list(pod["containers"])


def mount_pod(env: StackEnv, namespace: str, kind: str, name: str, workdir: pathlib.Path) -> PodMounts:
    """The workload's pod spec read back from the API server; its sidekick's volumes (the credentials Secret,
    the rendered ConfigMap, the shared emptyDir) made local; resources that need outside systems dropped."""
    pod = _pod_spec(env, namespace, kind, name)
    (sidekick,) = [c for c in _containers(pod) if "sidekick" in c["name"]]
    mapping = {m["mountPath"]: workdir / m["name"] for m in sidekick.get("volumeMounts") or []}
    for local in mapping.values():
        local.mkdir(parents=True, exist_ok=True)
    mounts = PodMounts(env, namespace, pod, mapping, {}, workdir)
    mounts.sync_secrets()
    (config_dir,) = [d for m, d in mapping.items() if m.endswith("-config")]
    text = (config_dir / "sidekick.json").read_text(encoding="utf-8")  # vaultconf.sidecar.CONFIG_FILE
    for mount_path, local in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(mount_path, str(local))
    config = json.loads(text)
    config["resources"] = [r for r in config["resources"] if r["type"] not in NEEDS_OUTSIDE_SYSTEMS]
    for resource in config["resources"]:
        resource.pop("on_change", None)  # the app's reload endpoint is not running here
    mounts.config = config
    return mounts


def sidekick_command(config_file: pathlib.Path) -> list[str]:
    return [str(pathlib.Path(sys.executable).parent / "sidekick"), "--config", str(config_file)]


def output_files(config: dict[str, Any]) -> dict[str, pathlib.Path]:
    """Resource name → the file the sidekick writes for it (for a certificate: the .crt)."""
    output_dir = pathlib.Path(config["output_dir"])
    files = {}
    for resource in config["resources"]:
        stem = output_dir / resource.get("file", resource["name"])
        is_cert = resource.get("format") == "cert"
        files[resource["name"]] = stem.with_name(stem.name + ".crt") if is_cert else stem
    return files


def deliver_with_sidekick(
    env: StackEnv, namespace: str, kind: str, name: str, workdir: pathlib.Path, **overrides: Any
) -> Delivery:
    """Run the sidekick once (one-shot) as a process the way the workload's pod would (see mount_pod)."""
    mounts = mount_pod(env, namespace, kind, name, workdir)
    config_file = mounts.write_config(one_shot=True, listen="", **overrides)
    config = json.loads(config_file.read_text(encoding="utf-8"))
    proc = subprocess.run(
        sidekick_command(config_file), capture_output=True, text=True, timeout=120,
        env={**os.environ, "VAULT_TOKEN": ""}, check=False,
    )
    pod_resources = json.loads((next(d for m, d in mounts.mapping.items() if m.endswith("-config"))
                                / "sidekick.json").read_text(encoding="utf-8"))["resources"]
    skipped = [r["name"] for r in pod_resources if r["type"] in NEEDS_OUTSIDE_SYSTEMS]
    return Delivery(proc.returncode, pathlib.Path(config["output_dir"]), output_files(config), skipped,
                    proc.stderr)


def main(argv: list[str] | None = None) -> int:
    """The demo: preview, up, a no-op second up, what landed in Vault and Kubernetes, then destroy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the work directory for inspection")
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="vaultconf-demo-"))
    try:
        with stack_env(workdir) as env:
            configure(env)
            print(f"demo: Vault {env.vault.addr}, Kubernetes API {env.kube.url}, state {env.ws.backend_url}")
            preview = env.ws.preview()
            print(f"demo: preview: {change_summary(preview)}")
            guarded = env.ws.run("preview", "--policy-pack", str(ROOT / "policy"), check=False)
            if guarded.returncode != 0:
                print(guarded.stdout + guarded.stderr, file=sys.stderr)
                print("demo: FAILED: the policy pack blocked the shipped config", file=sys.stderr)
                return 1
            print("demo: preview --policy-pack policy: no violations")
            up = env.ws.up()
            print(f"demo: up: {change_summary(up)}")
            outputs = env.ws.outputs()
            for key in ("policies", "users", "workloads"):
                print(f"demo: {key}: {', '.join(outputs.get(key, []))}")
            client = env.vault.new_client()
            print(f"demo: Vault policies: {sorted(client.sys.list_acl_policies()['data']['keys'])}")
            from vaultconf.config import validate

            declared = validate(env.config_dir, OVERLAY).config
            assert declared is not None
            for wl in declared.workloads:
                got = deliver_with_sidekick(env, wl.namespace, wl.kind, wl.name, workdir / "pods" / wl.name)
                status = "ok" if got.returncode == 0 else f"FAILED (exit {got.returncode})"
                written = ", ".join(f"{n} -> {p.name}" for n, p in got.files.items() if p.exists())
                print(f"demo: sidekick for {wl.namespace}/{wl.name}: {status}; wrote {written}")
                if got.skipped:
                    print(f"demo:   not delivered here: {', '.join(got.skipped)}")
                users = env.moto.iam_users()
                print(f"demo:   IAM users Vault's AWS engine has created in moto so far: {len(users)}")
                if got.returncode != 0:
                    print(got.log, file=sys.stderr)
                    return 1
            again = change_summary(env.ws.up())
            print(f"demo: second up: {again or 'no changes'}")
            env.ws.destroy()
            left = env.moto.iam_users()
            print(f"demo: destroyed; IAM users left in moto (the unmount revokes every lease): {len(left)}")
            if left:
                print(f"demo: FAILED: IAM users outlived the AWS engine: {left}", file=sys.stderr)
                return 1
            if again:
                print("demo: FAILED: the second up was not a no-op", file=sys.stderr)
                return 1
        return 0
    finally:
        if args.keep:
            print(f"demo: work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
