"""Steady RSS of a sidecar run against the dev Vault with three resources (KV v2 as json, a PKI
certificate, KV v1 as yaml). Not a test: `python -m tests.sidekick.measure_rss [seconds]`.

Two set-ups are measured: the dev venv (another interpreter, its site-packages .pth hooks, and with
PYTHONDONTWRITEBYTECODE the package compiled from source at every start) and the image's: its ENTRYPOINT
and ENV from the Dockerfile, Debian's python3.11, the package byte-compiled as the image does
(benchmarks.agent.stage_sidekick).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.agent import stage_sidekick
from tests.sidekick import vaultkit as vk
from tests.support.vault import start_dev


def rss_kib(pid: int) -> int:
    text = pathlib.Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+)", text)
    return int(match.group(1)) if match else 0


def measure(argv: list[str], env: dict[str, str], seconds: float, out: pathlib.Path) -> dict[str, float]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / "tls.crt").exists() or not (out / "v1.yaml").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sidekick did not write its files")
            time.sleep(0.2)
        time.sleep(3)  # settle after the first writes
        samples = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(rss_kib(proc.pid))
            time.sleep(1)
        return {"median_mib": statistics.median(samples) / 1024, "max_mib": max(samples) / 1024,
                "samples": len(samples)}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30
    vault = start_dev()
    try:
        vk.mount_kv(vault, "kv1", 1)
        vk.kv_put(vault, "kv1", "app", {"user": "u", "password": "p" * 20}, 1)
        vk.kv_put(vault, "secret", "app", {"api_key": "k" * 32}, 2)
        vk.mount_pki(vault, "pki")
        work = pathlib.Path(tempfile.mkdtemp(prefix="sidekick-rss-"))
        results = {}
        image_argv, image_env = stage_sidekick(work)
        for label, prefix, env in (
            ("venv python", [sys.executable, "-m", "sidekick"],
             {k: v for k, v in vk.clean_env(VAULT_TOKEN=vault.token).items() if k != "PYTHONPATH"}),
            ("as in the image: " + " ".join(image_argv).replace(str(work / "opt-sidekick"), "/opt/sidekick"),
             image_argv, {**image_env, "VAULT_TOKEN": vault.token}),
        ):
            out = work / str(len(results))
            args = [*prefix, f"-vault={vault.addr}", f"-output={out}",
                    "-listen=127.0.0.1:0", "-renew-token",
                    "-cn=kv:secret/app:fmt=json,file=v2.json,update=5s",
                    "-cn=pki:pki/issue/web:common_name=a.example.com,ttl=60s,fmt=cert,file=tls",
                    "-cn=secret:kv1/app:fmt=yaml,file=v1.yaml,update=5s"]
            results[label] = measure(args, env, seconds, out)
        print(json.dumps(results, indent=2))
    finally:
        vault.stop()


if __name__ == "__main__":
    os.environ.pop("VAULT_TOKEN", None)
    main()
