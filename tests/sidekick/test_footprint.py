"""Memory guards (issue 16 item 5: VmRSS <= 12 MiB with 3 secrets): what a sidecar imports on its http path,
and that the benchmark measures the sidekick the way the image runs it."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from benchmarks import agent

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Each costs RSS for the life of the process and none is needed to serve secrets over http; the lazy
# imports that need them (ssl for https, PyYAML, Jinja2, hashlib for a dry run, subprocess for exec hooks,
# ctypes for signal hooks) are behind configuration that the default sidecar does not have.
KEPT_OUT = ("socket", "selectors", "contextlib", "typing", "dataclasses", "inspect", "http", "http.client",
            "http.server", "ssl", "email", "hashlib", "random", "base64", "struct", "urllib", "urllib.parse",
            "ipaddress", "logging", "argparse", "subprocess", "ctypes", "yaml", "jinja2", "encodings.idna",
            "unicodedata", "runpy")


def test_the_sidecar_http_path_keeps_heavy_modules_out() -> None:
    """Everything `main` imports for a sidecar on http (configuration, scheduler, status server), in the
    image's interpreter mode (-S): none of the modules above is loaded."""
    code = ("import sys, json\nimport sidekick.__main__, sidekick.cli, sidekick.scheduler, sidekick.server, "
            "sidekick.state\nprint(json.dumps(sorted(sys.modules)))")
    python = agent.IMAGE_PYTHON if agent.IMAGE_PYTHON.exists() else pathlib.Path(sys.executable)
    out = subprocess.run([str(python), "-S", "-c", code], capture_output=True, text=True, timeout=60,
                         check=True, env={"PYTHONPATH": str(ROOT / "sidekick_image"),
                                          "PYTHONDONTWRITEBYTECODE": "1"})
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(KEPT_OUT), sorted(loaded & set(KEPT_OUT))


def test_the_benchmark_runs_the_image_entrypoint_and_env() -> None:
    entrypoint, env = agent.image_runtime()
    assert entrypoint == ["/usr/bin/python3", "-S", "/opt/sidekick/bin/sidekick"]
    assert env["PYTHONPATH"] == "/opt/sidekick" and env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_the_staged_sidekick_is_precompiled_and_runs(tmp_path: pathlib.Path) -> None:
    argv, env = agent.stage_sidekick(tmp_path)
    opt = tmp_path / "opt-sidekick"
    assert argv[1:] == ["-S", str(opt / "bin" / "sidekick")]
    assert env["PYTHONPATH"] == str(opt) and env["LANG"] == "C.UTF-8"
    assert not any(k.startswith("VAULT_") for k in env)
    sources = sorted(p.stem for p in (opt / "sidekick").glob("*.py"))
    compiled = sorted(p.name.split(".")[0] for p in (opt / "sidekick" / "__pycache__").glob("*.pyc"))
    assert sources == compiled
    out = subprocess.run([*argv, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("sidekick "), out
