"""scripts/pulumi: which state-writing mode each subcommand gets, and a bad mode refused (the CLI is a fake
that prints what it was given)."""

from __future__ import annotations

import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(tmp_path: pathlib.Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "pulumi"
    fake.write_text('#!/bin/sh\necho "skip=${PULUMI_SKIP_CHECKPOINTS:-unset} args=$*"\n')
    fake.chmod(0o755)
    ours = ("PULUMI_SKIP_CHECKPOINTS", "VAULTCONF_CHECKPOINTS")
    base = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run([str(ROOT / "scripts" / "pulumi"), *args], capture_output=True, text=True,
                          env={**base, "PULUMI_BIN": str(fake), **env}, timeout=30, check=False)


def test_preview_and_up_skip_per_step_checkpoints_by_default(tmp_path: pathlib.Path) -> None:
    for args in (["preview"], ["--cwd", "x", "up", "--yes"], ["--non-interactive", "destroy"]):
        proc = _run(tmp_path, *args)
        assert proc.returncode == 0 and proc.stdout.startswith("skip=true "), (args, proc.stdout)


def test_every_step_keeps_checkpoints_for_up_but_not_preview(tmp_path: pathlib.Path) -> None:
    assert _run(tmp_path, "up", VAULTCONF_CHECKPOINTS="every-step").stdout.startswith("skip=unset ")
    assert _run(tmp_path, "preview", VAULTCONF_CHECKPOINTS="every-step").stdout.startswith("skip=true ")


def test_an_explicit_engine_switch_wins(tmp_path: pathlib.Path) -> None:
    assert _run(tmp_path, "preview", PULUMI_SKIP_CHECKPOINTS="false").stdout.startswith("skip=false ")


def test_a_bad_mode_is_refused_before_pulumi_runs(tmp_path: pathlib.Path) -> None:
    proc = _run(tmp_path, "up", VAULTCONF_CHECKPOINTS="$(touch /tmp/x)")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "must be 'final' or 'every-step'" in proc.stderr
