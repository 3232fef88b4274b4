"""The sidekick side by side with `vault agent` (the same `.engines/bin/vault` binary), same Vault, same
secrets, same window, running at the same time.

Secrets (both deliver all of them as files):
* KV v2 `kv/data/app/db` → db.json (re-read every 5 min: the sidekick's kv_update, Agent's
  static_secret_render_interval default);
* a PKI certificate with a 60 s TTL → tls.crt / tls.key / tls.ca;
* a leased secret with a 60 s TTL: an SSH one-time password (`ssh/creds/otp`, OTP role). It is a real
  Vault lease (lease id, TTL, revocable) that needs nothing outside Vault; AWS or a database would need an
  external system this machine cannot reach. → otp.json.

Auth: AppRole for both (Agent has no userpass auto_auth), each on its own mount and with its own policy, so
the audit log attributes every request (policy names and mount points are not HMAC'd in audit entries).

The sidekick runs as the image runs it (stage_sidekick): the Dockerfile's ENTRYPOINT and ENV, Debian's
python3.11, the package byte-compiled like the image; `result["sidekick_runtime"]` says how.
"""

from __future__ import annotations

import calendar
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from tests.faults.harness import free_port
from tests.support.vault import VaultDevServer, find_vault, read_audit, start_dev

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGE_SRC = ROOT / "sidekick_image"
# The image's interpreter: its base is built from Debian bookworm's python3.11 packages
# (scripts/image-base.sh), the same ones this machine's /usr/bin/python3.11 comes from.
IMAGE_PYTHON = pathlib.Path("/usr/bin/python3.11")
# What the builder's pip writes to /opt/sidekick/bin/sidekick for `sidekick = sidekick.__main__:main`
# (read back from the built image; the image's ENTRYPOINT runs this file).
CONSOLE_SCRIPT = """#!/usr/bin/python3
# -*- coding: utf-8 -*-
import re
import sys
from sidekick.__main__ import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""
FILES = ("db.json", "tls.crt", "tls.key", "tls.ca", "otp.json")
KV_50 = 47  # the 50-secret sidekick: db, tls, otp and 47 more KV secrets
TICK = os.sysconf("SC_CLK_TCK")

POLICY = """
path "kv/data/app/*" { capabilities = ["read"] }
path "kv/metadata/app/*" { capabilities = ["read"] }
path "pki/issue/app" { capabilities = ["create", "update"] }
path "ssh/creds/otp" { capabilities = ["create", "update"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }
"""

AGENT_HCL = """
vault {{
  address = "{addr}"
}}
auto_auth {{
  method "approle" {{
    mount_path = "auth/approle-agent"
    config = {{
      role_id_file_path = "{dir}/role_id"
      secret_id_file_path = "{dir}/secret_id"
      remove_secret_id_file_after_reading = false
    }}
  }}
}}
template_config {{
  static_secret_render_interval = "5m"
}}
{templates}
"""


# file → consul-template body; identical `secret` calls are one dependency, so one certificate for three files
AGENT_TEMPLATES = {
    "db.json": '{{ with secret "kv/data/app/db" }}{{ .Data.data | toJSON }}{{ end }}',
    "tls.crt": '{{ with secret "pki/issue/app" "common_name=app.example" }}{{ .Data.certificate }}{{ end }}',
    "tls.key": '{{ with secret "pki/issue/app" "common_name=app.example" }}{{ .Data.private_key }}{{ end }}',
    "tls.ca": '{{ with secret "pki/issue/app" "common_name=app.example" }}{{ .Data.issuing_ca }}{{ end }}',
    "otp.json": '{{ with secret "ssh/creds/otp" "ip=127.0.0.1" }}{{ .Data | toJSON }}{{ end }}',
}


def agent_hcl(addr: str, directory: pathlib.Path, out: pathlib.Path) -> str:
    blocks = [f'template {{\n  destination = "{out / name}"\n  perms = "0600"\n'
              f'  contents = {json.dumps(body)}\n}}' for name, body in AGENT_TEMPLATES.items()]
    return AGENT_HCL.format(addr=addr, dir=directory, templates="\n".join(blocks))


def provision(vault: VaultDevServer) -> None:
    req = vault.request
    req("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "2"}})
    req("POST", "sys/mounts/pki", {"type": "pki", "config": {"max_lease_ttl": "87600h"}})
    req("POST", "pki/root/generate/internal", {"common_name": "bench-ca.example", "ttl": "8760h",
                                              "key_type": "ec", "key_bits": 256})
    req("POST", "pki/roles/app", {"allowed_domains": "example", "allow_subdomains": True, "ttl": "60s",
                                  "max_ttl": "60s", "key_type": "ec", "key_bits": 256})
    req("POST", "sys/mounts/ssh", {"type": "ssh", "config": {"default_lease_ttl": "60s",
                                                              "max_lease_ttl": "60s"}})
    req("POST", "ssh/roles/otp", {"key_type": "otp", "default_user": "app", "cidr_list": "127.0.0.0/8"})
    deadline = time.monotonic() + 30
    while True:
        try:
            req("POST", "kv/data/app/db", {"data": {"username": "app", "password": "bench-password-1"}})
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    for i in range(KV_50):
        req("POST", f"kv/data/app/s{i}", {"data": {"username": f"app{i}", "password": f"bench-password-{i}"}})
    for who in ("sk", "agent", "sk50"):
        req("PUT", f"sys/policies/acl/bench-{who}", {"policy": POLICY})
        req("POST", f"sys/auth/approle-{who}", {"type": "approle"})
        req("POST", f"auth/approle-{who}/role/app", {"token_policies": f"bench-{who}", "token_ttl": "1h",
                                                     "token_max_ttl": "24h"})


def _approle_files(vault: VaultDevServer, who: str, directory: pathlib.Path) -> None:
    role_id = vault.request("GET", f"auth/approle-{who}/role/app/role-id")["data"]["role_id"]
    secret_id = vault.request("POST", f"auth/approle-{who}/role/app/secret-id")["data"]["secret_id"]
    for name, value in (("role_id", role_id), ("secret_id", secret_id)):
        path = directory / name
        path.write_text(value)
        path.chmod(0o600)


def _cpu_seconds(pid: int) -> float:
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _mem_kib(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon (the process's own heap and stacks: what file-backed pages of a big binary do not
    inflate) and Pss (shared pages divided among their users), KiB."""
    out = {"rss": 0, "anon": 0, "pss": 0}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss"] = int(line.split()[1])
        elif line.startswith("RssAnon:"):
            out["anon"] = int(line.split()[1])
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def _median_mib(values: list[int]) -> float:
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2] / 1024, 1) if ordered else 0.0


def _all_written(out: pathlib.Path, files: tuple[str, ...] = FILES) -> bool:
    return all((out / f).is_file() and (out / f).stat().st_size > 0 for f in files)


def image_runtime(dockerfile: pathlib.Path = IMAGE_SRC / "Dockerfile") -> tuple[list[str], dict[str, str]]:
    """The final stage's ENTRYPOINT (exec form) and ENV, read from the Dockerfile: the benchmark starts the
    sidekick with exactly these, so a flag or variable set in the image is what is measured."""
    lines: list[str] = []
    for raw in dockerfile.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        else:
            lines.append(raw.strip())
    final = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    entrypoint: list[str] | None = None
    env: dict[str, str] = {}
    for line in lines[final:]:
        word, _, rest = line.partition(" ")
        if word.upper() == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif word.upper() == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = value
    if not entrypoint or not isinstance(entrypoint, list):
        raise ValueError(f"{dockerfile}: no exec-form ENTRYPOINT in the final stage")
    return entrypoint, env


def stage_sidekick(work: pathlib.Path, python: pathlib.Path | None = None
                   ) -> tuple[list[str], dict[str, str]]:
    """Lay out /opt/sidekick as the image does (the package, pip's console script, .pyc compiled by the
    runtime interpreter with unchecked hashes, as the Dockerfile's RUN does) under `work`, and return the
    argv prefix and environment that run it as the image's ENTRYPOINT and ENV do.

    Not the dev venv's console script: that runs another interpreter (pyenv's, shared libpython), imports
    the venv's site hooks, and, with PYTHONDONTWRITEBYTECODE set, compiles the package from source at every
    start, whose compiler garbage stays in the heap (~1.5 MiB VmRSS more than the image)."""
    if python is None:
        python = IMAGE_PYTHON if IMAGE_PYTHON.exists() else pathlib.Path(sys.executable)
    opt = work / "opt-sidekick"
    shutil.copytree(IMAGE_SRC / "sidekick", opt / "sidekick",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (opt / "bin").mkdir()
    (opt / "bin" / "sidekick").write_text(CONSOLE_SCRIPT)
    subprocess.run([str(python), "-c", "import compileall, py_compile, sys\n"
                    "ok = compileall.compile_dir(sys.argv[1], quiet=1, invalidation_mode="
                    "py_compile.PycInvalidationMode.UNCHECKED_HASH)\nsys.exit(0 if ok else 1)", str(opt)],
                   check=True, timeout=300)
    entrypoint, image_env = image_runtime()
    argv = [str(python) if arg in ("/usr/bin/python3", "/usr/bin/python3.11") else arg.replace(
        "/opt/sidekick", str(opt)) for arg in entrypoint]
    dropped = ("VAULT_", "AUTH_", "PYTHON", "MALLOC_", "LC_")  # the sidekick's and the interpreter's own
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["LANG"] = "C.UTF-8"  # the base image's locale (scripts/image-base.sh)
    env.update({k: v.replace("/opt/sidekick", str(opt)) for k, v in image_env.items() if k != "PATH"})
    return argv, env


class Runner:
    def __init__(self, who: str, argv: list[str], out: pathlib.Path, log: pathlib.Path,
                 files: tuple[str, ...] = FILES, env: dict[str, str] | None = None) -> None:
        self.who, self.out, self.files = who, out, files
        out.mkdir(parents=True, exist_ok=True)
        if env is None:
            env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        with open(log, "ab") as fh:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(argv, stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, env=env)
        self.ready_after: float | None = None
        self.mem: list[dict[str, int]] = []
        self.cpu0 = self.cpu1 = 0.0
        self.log = log

    def poll_ready(self) -> None:
        if self.ready_after is None and _all_written(self.out, self.files):
            self.ready_after = time.monotonic() - self.started
        if self.proc.poll() is not None:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"{self.who} exited with {self.proc.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _count_requests(audit: pathlib.Path, start: float, end: float) -> dict[str, int]:
    counts = {"sk": 0, "agent": 0, "sk50": 0}
    for entry in read_audit(audit, "request"):
        ts = entry.get("time", "")
        try:
            t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            continue
        if not start <= t < end:
            continue
        req, auth = entry.get("request") or {}, entry.get("auth") or {}
        blob = (json.dumps(auth.get("policies") or []) + str(req.get("mount_point", ""))
                + str(req.get("path", "")))
        for who in counts:
            if f'"bench-{who}"' in blob or f"approle-{who}/" in blob:  # quoted: sk is a prefix of sk50
                counts[who] += 1
    return counts


def run(window: float, warmup: float = 10.0) -> dict[str, Any]:
    binary = find_vault()
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-agent-"))
    vault = start_dev(binary, workdir=work / "vault")
    try:
        audit = vault.enable_file_audit()
        provision(vault)
        runners = []
        for who in ("sk", "agent", "sk50"):
            d = work / who
            d.mkdir()
            _approle_files(vault, who, d)
        sk_cfg = {
            "vault": {"addr": vault.addr},
            "auth": {"method": "approle", "mount": "approle-sk", "role_id_file": str(work / "sk" / "role_id"),
                     "secret_id_file": str(work / "sk" / "secret_id")},
            "output_dir": str(work / "sk" / "out"), "listen": f"127.0.0.1:{free_port()}",
            "resources": [
                {"name": "db", "type": "kv", "path": "kv/data/app/db", "file": "db.json", "format": "json"},
                {"name": "tls", "type": "pki", "path": "pki/issue/app",
                 "params": {"common_name": "app.example"},
                 "file": "tls", "format": "cert"},
                {"name": "otp", "type": "write", "path": "ssh/creds/otp", "params": {"ip": "127.0.0.1"},
                 "file": "otp.json", "format": "json"},
            ],
        }
        (work / "sk" / "sidekick.json").write_text(json.dumps(sk_cfg))
        sk50_cfg = {**sk_cfg, "auth": {**sk_cfg["auth"], "mount": "approle-sk50",  # type: ignore[dict-item]
                                       "role_id_file": str(work / "sk50" / "role_id"),
                                       "secret_id_file": str(work / "sk50" / "secret_id")},
                    "output_dir": str(work / "sk50" / "out"), "listen": f"127.0.0.1:{free_port()}",
                    "resources": [*sk_cfg["resources"],
                                  *({"name": f"s{i}", "type": "kv", "path": f"kv/data/app/s{i}",
                                     "file": f"s{i}.json", "format": "json"} for i in range(KV_50))]}
        (work / "sk50" / "sidekick.json").write_text(json.dumps(sk50_cfg))
        hcl = agent_hcl(vault.addr, work / "agent", work / "agent" / "out")
        (work / "agent" / "agent.hcl").write_text(hcl)
        sidekick, sk_env = stage_sidekick(work)
        t0 = time.time()
        runners.append(Runner("sidekick", [*sidekick, "--config", str(work / "sk" / "sidekick.json")],
                              work / "sk" / "out", work / "sk" / "log", env=sk_env))
        runners.append(Runner("agent", [str(binary), "agent", f"-config={work / 'agent' / 'agent.hcl'}"],
                              work / "agent" / "out", work / "agent" / "log"))
        sk50_argv = [*sidekick, "--config", str(work / "sk50" / "sidekick.json")]
        runners.append(Runner("sidekick_50", sk50_argv,
                              work / "sk50" / "out", work / "sk50" / "log",
                              (*FILES, *(f"s{i}.json" for i in range(KV_50))), env=sk_env))
        deadline = time.monotonic() + 120
        while any(r.ready_after is None for r in runners):
            for r in runners:
                r.poll_ready()
            if time.monotonic() > deadline:
                raise RuntimeError("not every file was written within 120 s: "
                                   + ", ".join(f"{r.who}: {sorted(os.listdir(r.out))}" for r in runners))
            time.sleep(0.05)
        time.sleep(warmup)
        start_wall = time.time()
        for r in runners:
            r.cpu0 = _cpu_seconds(r.proc.pid)
        end = time.monotonic() + window
        while time.monotonic() < end:
            for r in runners:
                r.poll_ready()
                r.mem.append(_mem_kib(r.proc.pid))
            time.sleep(1.0)
        for r in runners:
            r.cpu1 = _cpu_seconds(r.proc.pid)
        end_wall = time.time()
        counts = _count_requests(audit, start_wall, end_wall)
        total_counts = _count_requests(audit, t0 - 5, end_wall)
        result: dict[str, Any] = {"window_s": round(end_wall - start_wall, 1), "vault": vault_version(binary),
                                  "sidekick_runtime": runtime_label(sidekick, sk_env, work)}
        for r, key in zip(runners, ("sk", "agent", "sk50"), strict=True):
            rss = [m["rss"] for m in r.mem]
            result[r.who] = {
                "resources": len(r.files) - 2,  # tls is three files
                "first_files_s": round(r.ready_after or 0.0, 2),
                "rss_median_mib": _median_mib(rss),
                "rss_max_mib": round(max(rss) / 1024, 1),
                "rss_anon_median_mib": _median_mib([m["anon"] for m in r.mem]),
                "pss_median_mib": _median_mib([m["pss"] for m in r.mem]),
                "cpu_s_per_h": round((r.cpu1 - r.cpu0) * 3600 / (end_wall - start_wall), 1),
                "requests_per_h": round(counts[key] * 3600 / (end_wall - start_wall)),
                "requests_in_window": counts[key],
                "requests_total": total_counts[key],
            }
        for r in runners:
            r.stop()
        result["images"] = image_sizes(binary)
        return result
    finally:
        for r in locals().get("runners", []):
            r.stop()
        vault.stop()
        shutil.rmtree(work, ignore_errors=True)


def runtime_label(argv: list[str], env: dict[str, str], work: pathlib.Path) -> str:
    """How the sidekick was run, e.g. `python3.11 3.11.2 -S /opt/sidekick/bin/sidekick; PYTHONPATH=...`."""
    version = subprocess.run([argv[0], "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, timeout=60).stdout.strip()
    opt = str(work / "opt-sidekick")
    shown = [pathlib.Path(argv[0]).name, version, *(a.replace(opt, "/opt/sidekick") for a in argv[1:])]
    image_env = image_runtime()[1]
    return " ".join(shown) + "; " + " ".join(f"{k}={env[k].replace(opt, '/opt/sidekick')}"
                                             for k in sorted(image_env) if k in env)


def vault_version(binary: pathlib.Path) -> str:
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=60)
    return out.stdout.strip().splitlines()[0] if out.stdout else "?"


def image_sizes(binary: pathlib.Path) -> dict[str, float | None]:
    tar = ROOT / "dist" / "sidekick-image.oci.tar"
    return {
        "sidekick_oci_tar_mib": round(tar.stat().st_size / 2**20, 1) if tar.exists() else None,
        "vault_binary_mib": round(binary.stat().st_size / 2**20, 1),
    }
