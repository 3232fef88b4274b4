"""A hand-made Vault adopted by the real stack: the steps an operator follows (docs/adoption.md), shared by
tests/e2e/test_adopt.py and tests/e2e/test_drift.py.

1. Vault is configured by hand through its API (tests/support/brownfield.py).
2. `vaultconf import` writes the YAML and the `pulumi import` file; `vaultconf validate` is clean on it.
3. The stack's project copy gets that YAML as its whole config; the stack's settings are set (the AWS keys
   is the one Vault holds; the adopted engine needs no secret key).
4. `pulumi up --target <the Vault provider>` (a new stack has no provider yet), then
   `pulumi import --file pulumi-import.json --protect=false --generate-code=false`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from tests.e2e.stack import STACK, StackEnv, init_stack, stack_env
from tests.support.brownfield import HandMade, configure_by_hand, login, snapshot

OVERLAY = "adopted"
AWS_ACCESS_KEY = "AKIAHANDMADE0000"  # what configure_by_hand gave Vault (the secret key stays in Vault only)


@dataclasses.dataclass
class AdoptEnv:
    stack: StackEnv
    made: HandMade
    import_dir: pathlib.Path
    notes: str

    @property
    def ws(self) -> Any:
        return self.stack.ws

    @property
    def vault(self) -> Any:
        return self.stack.vault

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self.vault)

    def login(self, user: str, password: str) -> bool:
        return login(self.vault.addr, self.vault, user, password)


def vaultconf(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `vaultconf` CLI of the repository's venv, as an operator runs it."""
    exe = pathlib.Path(sys.executable).parent / "vaultconf"
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


@contextlib.contextmanager
def adopt_env(workdir: pathlib.Path) -> Iterator[AdoptEnv]:
    with stack_env(workdir) as env:
        made = configure_by_hand(env.vault, env.kube.url, env.kube.ca_pem)
        cli_env = {**os.environ, "VAULT_TOKEN": env.vault.token}
        out = workdir / "imported"
        imported = vaultconf("import", "--vault-addr", env.vault.addr, "-o", str(out), "--stack-name", STACK,
                             env=cli_env)
        assert imported.returncode == 0, imported.stderr
        # the imported YAML becomes the stack's whole desired state
        config = env.config_dir
        shutil.rmtree(config)
        (config / "base").mkdir(parents=True)
        (config / OVERLAY).mkdir()
        shutil.copy(out / "imported.yaml", config / "base" / "imported.yaml")
        checked = vaultconf("validate", "--config-dir", str(config), "--stack", OVERLAY, env=cli_env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        ws = init_stack(env, OVERLAY)
        ws.config_set("vaultconf:awsAccessKey", AWS_ACCESS_KEY, secret=True)
        plan = json.loads((out / "pulumi-import.json").read_text(encoding="utf-8"))
        ws.run("up", "--yes", "--skip-preview", "--target", plan["nameTable"]["vault"])
        ws.run("import", "--file", str(out / "pulumi-import.json"), "--yes", "--protect=false",
               "--generate-code=false", "--skip-preview")
        yield AdoptEnv(env, made, out, imported.stderr)
