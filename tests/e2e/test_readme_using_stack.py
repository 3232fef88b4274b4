"""The README, followed as written: "First step" and "Using the stack" run for real.

"First step" runs verbatim in a view of the repository (a symlink per top-level entry, no .venv, no engines on
PATH), so its `make cli` builds a fresh venv there; that venv must hold the runtime lock and nothing more (the
dev toolchain is what made the first step slow). "Using the stack" then runs with that same venv: what the
README calls "after the first step" is all the stack program gets.

"Using the stack" runs command by command with the real Pulumi CLI (a local file backend, reached through the
README's own `pulumi login`), a real Vault dev server and the test kube-apiserver. Only addresses are
substituted (the Vault URL and the kubeconfig context), each of which must still appear in the block, so a
README that drifts from the program fails here. The environment is what a user's shell would hold: HOME (for
`~/.pulumi-state` and `~/.kube/config`), VAULT_TOKEN, PULUMI_CONFIG_PASSPHRASE, the engines on PATH; a
`--secret` command gets its value on stdin, as it would when typed at the prompt.

The program runs unchanged through tests/e2e/stack.py's entry point (no kubelet here, so Deployments and Jobs
are not awaited), like the end-to-end test.
"""

from __future__ import annotations

import os
import pathlib
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.stack import copy_project
from tests.support import pulumi as pulumi_support
from tests.support.kube import CLUSTER_NAME

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VAULT_PLACEHOLDER = "https://vault.example:8200"
CONTEXT_PLACEHOLDER = "kind-dev"


def readme_block(heading: str) -> list[str]:
    """The commands of the first ```bash block under `## heading` (comments stay: bash ignores them)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)^## ", text, re.S | re.M)
    assert match, f"README.md has no section '## {heading}'"
    block = re.search(r"```bash\n(.*?)```", match.group(1), re.S)
    assert block, f"README.md '## {heading}' has no bash block"
    lines = block.group(1).splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503 normalisation, as pip compares names


def runtime_lock() -> set[str]:
    """The distributions pinned in requirements.txt (the lock `make cli` installs)."""
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return {_dist_name(m) for m in re.findall(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==", text)}


@dataclass
class FirstStep:
    clone: pathlib.Path
    venv: pathlib.Path
    transcript: list[str]


@pytest.fixture(scope="module")
def first_step(tmp_path_factory: pytest.TempPathFactory) -> FirstStep:
    """The README's first step, verbatim, in a view of the repository with no .venv and no engine on PATH."""
    clone = tmp_path_factory.mktemp("first-step")
    for entry in ROOT.iterdir():
        if not entry.name.startswith("."):  # no .venv, .engines or .git: a fresh clone has none of them built
            (clone / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "PULUMI_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if ".engines" not in p and ".venv" not in p)  # no engine, no dev venv
    commands = readme_block("First step (a minute, no engines)")
    assert commands[0].split("#")[0].strip() == "make cli", commands[0]
    transcript: list[str] = []
    started = time.monotonic()  # a minute on an idle machine; bounded loosely: 2 shared cores
    for line in commands:
        assert line.startswith(("make ", ".venv/bin/vaultconf ")), line
        result = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True,
                                timeout=600, check=False)
        output = result.stdout[-2000:] + result.stderr[-2000:]
        transcript.append(f"$ {line}  (exit {result.returncode})\n{output}")
        assert result.returncode == 0, "\n".join(transcript)
    assert time.monotonic() - started < 600, "\n".join(transcript)
    return FirstStep(clone, clone / ".venv", transcript)


@pytest.mark.slow
def test_first_step_needs_no_engines_and_no_dev_toolchain(first_step: FirstStep) -> None:
    assert (first_step.venv / "bin" / "vaultconf").is_file(), first_step.transcript
    listed = subprocess.run(
        [str(first_step.venv / "bin" / "python"), "-c",
         "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"],
        capture_output=True, text=True, timeout=60, check=True).stdout.split()
    installed = {_dist_name(n) for n in listed} - {"pip"}  # pip comes with every venv
    # exactly the runtime lock and the two local packages: no test runner, linter or moto in the first step
    wanted = runtime_lock() | {"vaultconf", "vault-sidekick-py"}
    assert installed == wanted, sorted(installed ^ wanted)


@dataclass
class Shell:
    """A user's shell in a fresh clone: runs README lines with bash and keeps a transcript."""

    cwd: pathlib.Path
    env: dict[str, str]
    transcript: list[str]

    def run(self, line: str, *, stdin: str | None = None,
            ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=900, check=False)
        self.transcript.append(f"$ {line}  (exit {result.returncode})\n{result.stdout}{result.stderr}")
        if ok and result.returncode != 0:
            tail = "\n".join(self.transcript)[-6000:]
            pytest.fail(f"README command failed: {line}\n{tail}", pytrace=False)
        return result


@pytest.fixture
def user_shell(tmp_path: pathlib.Path, vault_dev: Any, kube_apiserver: Any,
               pulumi_engines: dict[str, pathlib.Path], first_step: FirstStep) -> Iterator[Shell]:
    project = copy_project(tmp_path / "clone")
    # the stack program gets the first step's venv (the runtime lock only), not the dev one
    pulumi_yaml = project / "Pulumi.yaml"
    text = pulumi_yaml.read_text(encoding="utf-8")
    assert f"virtualenv: {ROOT / '.venv'}" in text, text
    pulumi_yaml.write_text(text.replace(f"virtualenv: {ROOT / '.venv'}", f"virtualenv: {first_step.venv}"),
                           encoding="utf-8")
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        if stack_file.name != "Pulumi.yaml":
            shutil.copy(stack_file, project / stack_file.name)
    (project / ".venv").symlink_to(first_step.venv)
    shutil.copytree(ROOT / "scripts", project / "scripts")  # a clone has them (scripts/pulumi)
    (project / "ca.crt").write_text(kube_apiserver.ca_pem, encoding="utf-8")  # the cluster's CA file
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    kubeconfig = home / ".kube" / "config"
    kubeconfig.write_text(kube_apiserver.kubeconfig_text(), encoding="utf-8")
    kubeconfig.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VAULT_", "KUBECONFIG"))}
    env.update({
        "HOME": str(home),
        "PATH": os.pathsep.join([str(pulumi_support.ENGINES_BIN), env.get("PATH", "/usr/bin:/bin")]),
        "VAULT_TOKEN": vault_dev.token,
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24),
        "PULUMI_HOME": str(pulumi_support.PULUMI_HOME),  # plugins built by `make engines`
        "PULUMI_PYTHON_CMD": str(first_step.venv / "bin" / "python"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_CONFIRMATIONS": "true",  # `pulumi up` asks for confirmation on a terminal only
        "PULUMI_TELEMETRY_DISABLED": "true",
        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
        "NO_COLOR": "1",
    })
    shell = Shell(project, env, [])
    try:
        yield shell
    finally:
        shell.run("pulumi destroy --yes --skip-preview --non-interactive", ok=False)


@pytest.mark.engines
@pytest.mark.slow
def test_using_the_stack_works_as_written(user_shell: Shell, vault_dev: Any) -> None:
    for plugin in ("pulumi-resource-vault", "pulumi-resource-kubernetes", "pulumi-resource-random"):
        pulumi_support.find_engine(plugin)  # a missing one fails with the command that builds it
    commands = readme_block("Using the stack")
    text = "\n".join(commands)
    for placeholder in (VAULT_PLACEHOLDER, CONTEXT_PLACEHOLDER):
        assert placeholder in text, f"README 'Using the stack' no longer names {placeholder}"
    # what the program needs, derived from it, is what the README sets: no more, no less
    from vaultconf.config import settings, validate

    cfg = validate(ROOT / "infra" / "config", "dev").config
    assert cfg is not None
    secret_lines = {re.sub(r"\s+#.*$", "", c) for c in commands if "--secret" in c}
    assert secret_lines == {s.command() for s in settings.secrets_for(cfg)}
    # every required plain setting too: Pulumi.dev.yaml's values are examples (an image nobody can pull)
    for needed in settings.required_for(cfg):
        if not needed.secret:
            line = f"pulumi config set {needed.full_key} "
            assert any(c.startswith(line) for c in commands), needed.full_key
    assert any(c.startswith("pulumi config set vaultconf:podVaultAddress ") for c in commands)

    seeded: dict[str, str] = {}
    for line in commands:
        line = line.replace(VAULT_PLACEHOLDER, vault_dev.addr).replace(CONTEXT_PLACEHOLDER, CLUSTER_NAME)
        stdin = None
        if "config set --secret" in line:
            key = line.split("--secret", 1)[1].split()[0].split(":", 1)[1]
            seeded[key] = stdin = f"readme-{secrets.token_hex(8)}"
        user_shell.run(line, stdin=stdin)

    # it really happened: the stack's objects are in Vault, with the values the README had us type
    policies = vault_dev.request("LIST", "sys/policies/acl")["data"]["keys"]
    assert "billing-reader" in policies, policies
    data = vault_dev.request("GET", "apps/data/billing/db")["data"]["data"]
    assert data == {"username": seeded["kv-apps-billing-db-username"],
                    "password": seeded["kv-apps-billing-db-password"]}
    users = vault_dev.request("LIST", "auth/userpass/users")["data"]["keys"]
    assert "billing-api" in users
    state = user_shell.run("pulumi stack export").stdout
    assert not any(value in state for value in seeded.values())  # secrets stay encrypted in the state
    assert (pathlib.Path(user_shell.env["HOME"]) / ".pulumi-state").is_dir()  # the README's own login


@pytest.mark.engines
def test_a_stack_missing_every_secret_fails_once_listing_each(user_shell: Shell) -> None:
    """`pulumi preview` on a stack with none of its secrets: one error that names every one."""
    from vaultconf.config import settings, validate

    cfg = validate(ROOT / "infra" / "config", "dev").config
    assert cfg is not None
    (user_shell.cwd / "state").mkdir()
    user_shell.run(f"pulumi login file://{user_shell.cwd / 'state'}")
    user_shell.run("pulumi stack init bare --non-interactive")
    user_shell.run("pulumi config set vaultconf:overlay dev")
    result = user_shell.run("pulumi preview --non-interactive", ok=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # the progress display echoes the error; the Diagnostics section holds each one once
    assert "Diagnostics:" in output, output[-4000:]
    output = output.split("Diagnostics:", 1)[1]
    wanted = [s.command() for s in settings.required_for(cfg)]
    for command in wanted:
        assert output.count(command) == 1, (command, output[-4000:])
    assert output.count("is missing") == 1, output[-4000:]
    assert f"missing {len(wanted)} setting(s)" in output
    assert "Missing required configuration variable" not in output  # Pulumi's one-at-a-time error
