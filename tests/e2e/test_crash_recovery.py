"""A `pulumi up` killed halfway (SIGKILL of the CLI, as a CI runner dying would), and what brings the stack
back, with each checkpoint choice of scripts/pulumi (docs/scaling.md):

* `every-step` (the engine's per-step checkpoints): the state holds what was created and the in-flight
  creates as pending operations. `pulumi cancel` removes the DIY backend's lock, `pulumi refresh
  --clear-pending-creates` drops the pending creates, and a second `up` finishes the job.
* `final` (the default: PULUMI_SKIP_CHECKPOINTS): the state is the one from before the killed run. After
  `pulumi cancel`, a second `up` re-creates everything: Vault writes that are upserts (policies, users) just
  succeed, but a mount or auth method the killed run enabled fails with "path is already in use"; `pulumi
  import` of those (their ID is their path) and a third `up` finish the job.

Either way the end state is the declared one and a preview finds nothing to do. The program is a small Vault
program (mounts, an auth method, policies, random passwords, userpass users) so the kill lands mid-run.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.engines import engine_path
from tests.support.pulumi import WRAPPER, Workspace, change_summary, write_project
from tests.support.vault import VaultDevServer

pytestmark = [pytest.mark.engines, pytest.mark.slow]

POLICIES = 150
PROGRAM = """\
import pulumi
import pulumi_random as random
import pulumi_vault as vault

cfg = pulumi.Config()
prefix = cfg.require("prefix")
opts = pulumi.ResourceOptions(provider=vault.Provider("vault", address=cfg.require("addr")))
kv = vault.Mount("kv", path=f"{prefix}-kv", type="kv", options={"version": "2"}, opts=opts)
auth = vault.AuthBackend("userpass", type="userpass", path=f"{prefix}-up", opts=opts)
for i in range(int(cfg.require("n"))):
    name = f"{prefix}-p{i}"
    rule = f'path "{prefix}-kv/data/{i}" {{ capabilities = ["read"] }}'
    policy = vault.Policy(f"p{i}", name=name, policy=rule, opts=opts)
    password = random.RandomPassword(f"pw{i}", length=24, special=False)
    vault.UserpassAuthBackendUser(f"u{i}", mount=auth.path, username=f"u{i}", password_wo=password.result,
                                  password_wo_version=1, token_policies=[policy.name], opts=opts)
"""


def _kill_up_halfway(ws: Workspace, progressed: Callable[[], bool], timeout: float = 600.0) -> None:
    """Start `up`, SIGKILL the CLI once `progressed()` holds, then end the orphans (language host, program,
    providers) the way their own parent's death leaves them: they are this test's processes."""
    env = ws.env()
    child = subprocess.Popen([str(WRAPPER), "--non-interactive", "up", "--yes", "--skip-preview"],
                             cwd=ws.project_dir, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while not progressed():
            assert child.poll() is None, "the up finished before it could be killed halfway"
            assert time.monotonic() < deadline, "the up made no progress"
            time.sleep(0.05)
        assert child.poll() is None, "the up finished before it could be killed halfway"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # its own session: only the processes this up started


@pytest.fixture
def program(tmp_path: pathlib.Path, vault_dev: VaultDevServer,
            vault_path: Callable[[str], str]) -> Iterator[tuple[Workspace, str]]:
    for name in ("pulumi", "pulumi-resource-vault", "pulumi-resource-random"):
        engine_path(name)
    project = write_project(tmp_path / "project", "crash", PROGRAM)
    prefix = vault_path("crash")
    ws = Workspace(project_dir=project, state_dir=tmp_path / "state",
                   env_extra={"VAULT_TOKEN": vault_dev.token})
    ws.stack_init("crash")
    ws.config_set_all({"crash:prefix": prefix, "crash:addr": vault_dev.addr, "crash:n": str(POLICIES)})
    yield ws, prefix


def _policies(vault: VaultDevServer, prefix: str) -> set[str]:
    keys = vault.new_client().sys.list_acl_policies()["data"]["keys"]
    return {k for k in keys if k.startswith(f"{prefix}-p")}


def _state(ws: Workspace) -> dict[str, Any]:
    return dict(ws.export().get("deployment") or {})


def _recovered(ws: Workspace, vault: VaultDevServer, prefix: str) -> None:
    assert _policies(vault, prefix) == {f"{prefix}-p{i}" for i in range(POLICIES)}
    again = ws.run("preview", "--json", "--expect-no-changes", check=False)
    assert again.returncode == 0, change_summary(json.loads(again.stdout or "{}")) or again.stderr[-2000:]
    assert not _state(ws).get("pending_operations")


def test_every_step_checkpoints_cancel_refresh_up(program: tuple[Workspace, str],
                                                   vault_dev: VaultDevServer) -> None:
    ws, prefix = program
    ws.env_extra["VAULTCONF_CHECKPOINTS"] = "every-step"
    _kill_up_halfway(ws, lambda: len(_policies(vault_dev, prefix)) >= POLICIES // 3)
    state = _state(ws)
    recorded = [r for r in state.get("resources") or [] if r["type"] == "vault:index/policy:Policy"]
    assert 0 < len(recorded) < POLICIES, "per-step checkpoints keep what the killed run created"
    locked = ws.run("up", "--yes", "--skip-preview", check=False)
    assert locked.returncode != 0 and "locked" in locked.stdout + locked.stderr
    ws.run("cancel", "--yes")
    ws.run("refresh", "--yes", "--skip-preview", "--clear-pending-creates")
    ws.up()
    _recovered(ws, vault_dev, prefix)


def test_final_checkpoint_cancel_up_import_up(program: tuple[Workspace, str],
                                              vault_dev: VaultDevServer) -> None:
    ws, prefix = program
    _kill_up_halfway(ws, lambda: len(_policies(vault_dev, prefix)) >= POLICIES // 3)
    assert _policies(vault_dev, prefix), "the killed run did write to Vault"
    assert not _state(ws).get("resources"), "with the final checkpoint only, the state is the one from before"
    ws.run("cancel", "--yes")
    second = ws.run("up", "--yes", "--skip-preview", check=False)
    output = second.stdout + second.stderr
    assert second.returncode != 0 and "path is already in use" in output, output[-3000:]
    provider = next(r["urn"] for r in _state(ws)["resources"] if r["type"] == "pulumi:providers:vault")
    # the two paths the killed run enabled; their import ID is the path, their provider the stack's own
    imports = {"resources": [
        {"type": "vault:index/mount:Mount", "name": "kv", "id": f"{prefix}-kv", "provider": "vault"},
        {"type": "vault:index/authBackend:AuthBackend", "name": "userpass", "id": f"{prefix}-up",
         "provider": "vault"},
    ], "nameTable": {"vault": provider}}
    import_file = ws.state_dir / "recover-import.json"
    import_file.write_text(json.dumps(imports), encoding="utf-8")
    ws.run("import", "--yes", "--file", str(import_file), "--protect=false", "--generate-code=false")
    ws.up()
    _recovered(ws, vault_dev, prefix)
