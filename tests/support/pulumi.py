"""Drive the real Pulumi CLI (built by `make engines`) against a local file backend.

Plain Python (no pytest): tests/fixtures/pulumi.py wraps it, and the e2e test and scripts/demo.sh use it.

Everything stays on this machine and inside the project:

* `PULUMI_HOME` is `.engines/pulumi-home` (plugins, credentials, caches), never `~/.pulumi`;
* state lives in a file backend (`PULUMI_BACKEND_URL=file://<dir>`), secrets use the passphrase provider with
  a random passphrase that lives only in memory and in the child's environment (never argv, never logged);
* plugins are the binaries in `.engines/bin` (on PATH, where the engine looks first), and automatic plugin
  downloads are disabled, so a missing plugin is a clear error instead of a network hang;
* the Python program runs with the venv's interpreter (`PULUMI_PYTHON_CMD`);
* no update checks, no telemetry, no colour, no interactive prompts;
* every command goes through `scripts/pulumi`, the project's one definition of when the engine's per-step
  checkpoints are skipped (PULUMI_SKIP_CHECKPOINTS; docs/scaling.md): tests run what users and CI run.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support import engines

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGINES_BIN = engines.ENGINES_BIN
PULUMI_HOME = ROOT / ".engines" / "pulumi-home"
VENV_BIN = ROOT / ".venv" / "bin"
# The engine itself: the CLI and the Python language host with its exec script.
CORE_ENGINES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")
# What `make engines` must have built for a Python Pulumi program using this project's providers.
REQUIRED_ENGINES = (
    *CORE_ENGINES,
    "pulumi-resource-random",
    "pulumi-resource-vault",
    "pulumi-resource-kubernetes",
)
DEFAULT_TIMEOUT = 900.0
# The wrapper that sets the checkpoint choice (docs/scaling.md) and execs PULUMI_BIN.
WRAPPER = ROOT / "scripts" / "pulumi"


class PulumiError(RuntimeError):
    """A pulumi command failed; the message names the command and ends with its output (no secrets in it)."""

    def __init__(self, message: str, result: subprocess.CompletedProcess[str] | None = None) -> None:
        super().__init__(message)
        self.result = result


def find_engine(name: str) -> pathlib.Path:
    """Engine binary `name` (see tests.support.engines); PulumiError when missing."""
    return engines.find_engine(name, PulumiError)


def missing_engines() -> list[str]:
    """Names from REQUIRED_ENGINES that are not built."""
    missing = []
    for name in REQUIRED_ENGINES:
        try:
            find_engine(name)
        except PulumiError:
            missing.append(name)
    return missing


def _python() -> str:
    venv_python = VENV_BIN / "python"
    return str(venv_python) if venv_python.exists() else shutil.which("python3") or "python3"


@dataclass
class Workspace:
    """One Pulumi project directory plus its private backend, home and passphrase.

    `run()` is the primitive; the helpers below cover what tests and the demo need. Output of every command is
    kept in `.log` (a file of mode 0600 in the state dir) so a failure can be diagnosed after the fact.
    """

    project_dir: pathlib.Path
    state_dir: pathlib.Path
    env_extra: dict[str, str] = field(default_factory=dict)
    passphrase: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    home: pathlib.Path = PULUMI_HOME
    binary: pathlib.Path | None = None

    def __post_init__(self) -> None:
        self.project_dir = self.project_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home.mkdir(parents=True, exist_ok=True)
        if self.binary is None:
            self.binary = find_engine("pulumi")
        self.log = self.state_dir / "pulumi.log"
        self.log.touch(mode=0o600, exist_ok=True)

    @property
    def backend_url(self) -> str:
        return f"file://{self.state_dir}"

    def env(self) -> dict[str, str]:
        """The child environment: inherited, minus ambient Pulumi settings, plus ours."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        path = os.pathsep.join([str(ENGINES_BIN), str(VENV_BIN), base.get("PATH", "/usr/bin:/bin")])
        base.update(
            {
                "PATH": path,
                "PULUMI_HOME": str(self.home),
                "PULUMI_BACKEND_URL": self.backend_url,
                "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                "PULUMI_BIN": str(self.binary),
                "PULUMI_PYTHON_CMD": _python(),
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_SKIP_CONFIRMATIONS": "true",
                "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
                "PULUMI_TELEMETRY_DISABLED": "true",
                "PULUMI_DISABLE_CI_DETECTION": "true",
                "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(self.env_extra)
        return base

    def run(self, *args: str, check: bool = True, input_text: str | None = None,
            timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
        """`pulumi --non-interactive ARGS` in the project dir; raises PulumiError on a non-zero exit."""
        argv = [str(WRAPPER), "--non-interactive", *args]  # a root flag: before any `--`
        child_env = self.env()
        if env:
            child_env.update(env)
        try:
            result = subprocess.run(argv, cwd=self.project_dir, env=child_env, input=input_text,
                                    capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as err:
            raise PulumiError(f"`pulumi {' '.join(args)}` timed out after {timeout:.0f}s") from err
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(f"$ pulumi {' '.join(args)}  (exit {result.returncode})\n")
            fh.write(f"{result.stdout}\n{result.stderr}\n")
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + "\n" + result.stderr).strip().splitlines()[-40:])
            raise PulumiError(f"`pulumi {' '.join(args)}` exited {result.returncode} in {self.project_dir}:\n"
                              f"{tail}", result)
        return result

    # -- stacks and config ---------------------------------------------------------------------------

    def stack_init(self, stack: str) -> None:
        """Create STACK (or select it if it already exists in this backend)."""
        listed = self.run("stack", "ls", "--json")
        if any(s.get("name") == stack for s in json.loads(listed.stdout or "[]")):
            self.run("stack", "select", stack)
        else:
            self.run("stack", "init", stack, "--secrets-provider", "passphrase")

    def stack_select(self, stack: str) -> None:
        self.run("stack", "select", stack)

    def config_set(self, key: str, value: str, *, secret: bool = False, path: bool = False) -> None:
        """Set config KEY; a secret value goes through stdin, never argv."""
        args = ["config", "set", key]
        if path:
            args.append("--path")
        if secret:
            self.run(*args, "--secret", input_text=value)
        else:
            self.run(*args, "--", value)

    def config_set_all(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self.config_set(key, value)

    # -- operations ----------------------------------------------------------------------------------

    def preview(self, *extra: str, check: bool = True) -> dict[str, Any]:
        """`pulumi preview --json`: the parsed JSON (steps, changeSummary, diagnostics)."""
        result = self.run("preview", "--json", *extra, check=check)
        return _parse_json(result)

    def up(self, *extra: str) -> dict[str, Any]:
        """`pulumi up --yes --skip-preview --json`: the parsed JSON summary (changeSummary, outputs, …)."""
        return _parse_json(self.run("up", "--yes", "--skip-preview", "--json", *extra))

    def destroy(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("destroy", "--yes", "--skip-preview", *extra)

    def refresh(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run("refresh", "--yes", "--skip-preview", *extra)

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"]
        if show_secrets:
            args.append("--show-secrets")
        return json.loads(self.run(*args).stdout or "{}")

    def export(self) -> dict[str, Any]:
        """`pulumi stack export` (secrets stay encrypted)."""
        return json.loads(self.run("stack", "export").stdout)

    def resources(self) -> list[dict[str, Any]]:
        """The resources in the current stack's state (type, urn, inputs, outputs)."""
        deployment = self.export().get("deployment", {})
        return list(deployment.get("resources") or [])

    def stack_rm(self) -> None:
        self.run("stack", "rm", "--yes", "--force")


def _parse_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """`preview --json` prints one document; `up --json` prints a stream of engine events, one per line:
    that becomes {"changeSummary": <the summary event's resourceChanges>, "events": [...]}."""
    text = result.stdout.strip()
    if not text:
        return {}
    try:
        return dict(json.loads(text))
    except json.JSONDecodeError:
        pass
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise PulumiError(f"pulumi printed something that is not JSON ({err}): {line[:500]}",
                              result) from err
    summary: dict[str, Any] = next((e["summaryEvent"] for e in events if "summaryEvent" in e), {})
    return {"changeSummary": summary.get("resourceChanges") or {}, "events": events}


def change_summary(result: Mapping[str, Any]) -> dict[str, int]:
    """{op: count} from `preview --json`/`up --json`, without the 'same' entries."""
    summary = result.get("changeSummary") or result.get("summary", {}).get("resourceChanges") or {}
    return {op: int(n) for op, n in summary.items() if op != "same" and int(n)}


def write_project(directory: pathlib.Path, name: str, program: str,
                  *, description: str = "vaultconf test program") -> pathlib.Path:
    """A throwaway Python project: Pulumi.yaml + __main__.py (run with the venv's Python)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime: python\ndescription: {description}\n", encoding="utf-8")
    (directory / "__main__.py").write_text(program, encoding="utf-8")
    return directory


def new_workspace(project_dir: pathlib.Path, *, state_dir: pathlib.Path | None = None,
                  env: Mapping[str, str] | None = None) -> Workspace:
    """A Workspace with a fresh private state dir (under the system temp dir unless given)."""
    state = state_dir or pathlib.Path(tempfile.mkdtemp(prefix="pulumi-state-"))
    return Workspace(project_dir=project_dir, state_dir=state, env_extra=dict(env or {}))


def plugin_versions(ws: Workspace) -> Sequence[str]:
    """`pulumi plugin ls` lines (what is installed in PULUMI_HOME; ambient plugins on PATH are not listed)."""
    return ws.run("plugin", "ls").stdout.splitlines()
