"""tools/engines/build.sh: installed binaries whose version fits are used, only the rest is built.

The script runs on a copy of the tools tree whose per-engine build scripts are stand-ins that record that
they ran, so what is checked is the selection logic itself, with fake installed binaries on PATH.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENGINES = ("etcd", "kube", "pulumi", "pulumi-vault", "vault")


def _fake_binary(directory: pathlib.Path, name: str, version_line: str) -> pathlib.Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(0o755)
    return path


def _tree(tmp_path: pathlib.Path) -> pathlib.Path:
    """A repo copy: the real top-level build.sh, stand-in per-engine scripts that log their own name."""
    engines = tmp_path / "repo" / "tools" / "engines"
    engines.mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "engines" / "build.sh", engines / "build.sh")
    for name in ENGINES:
        (engines / name).mkdir()
        (engines / name / "build.sh").write_text(
            f'#!/usr/bin/env bash\necho built >> "$(dirname "$0")/../../../built-{name}"\n'
        )
    return tmp_path / "repo"


def _run(repo: pathlib.Path, path_dirs: list[pathlib.Path], **env: str) -> subprocess.CompletedProcess[str]:
    system = "/usr/bin:/bin"
    go = shutil.which("go")
    if go:  # the script insists on Go only when something must be built
        system += f":{pathlib.Path(go).parent}"
    full_env = {"PATH": ":".join([*map(str, path_dirs), system]), "HOME": str(repo), **env}
    return subprocess.run(
        ["bash", str(repo / "tools" / "engines" / "build.sh")],
        capture_output=True, text=True, env=full_env, timeout=60, check=False,
    )


def test_fitting_binaries_on_path_are_linked_and_not_built(tmp_path: pathlib.Path) -> None:
    repo = _tree(tmp_path)
    installed = tmp_path / "installed"
    installed.mkdir()
    vault = _fake_binary(installed, "vault", "Vault v1.21.4 ('abc'), built 2026-01-01")
    _fake_binary(installed, "pulumi", "v3.100.0")  # too old: the pinned one is built
    _fake_binary(installed, "kube-apiserver", "Kubernetes v1.37.2")
    _fake_binary(installed, "kube-controller-manager", "Kubernetes v1.37.2")
    proc = _run(repo, [installed])
    assert proc.returncode == 0, proc.stderr
    engines_bin = repo / ".engines" / "bin"
    assert os.readlink(engines_bin / "vault") == str(vault)
    assert "vault 1.21.4 from PATH" in proc.stdout
    assert "below 3.274.0" in proc.stdout
    # the closing summary says where each engine comes from (pulumi's stand-in build made no binary here)
    assert f"vault={vault}" in proc.stdout and "pulumi=MISSING" in proc.stdout
    built = sorted(p.name.removeprefix("built-") for p in repo.glob("built-*"))
    # etcd is not installed, pulumi is too old, our own provider is always built; vault and kube are not
    assert built == ["etcd", "pulumi", "pulumi-vault"]


def test_a_link_to_a_binary_that_stopped_fitting_is_rebuilt(tmp_path: pathlib.Path) -> None:
    repo = _tree(tmp_path)
    installed = tmp_path / "installed"
    installed.mkdir()
    _fake_binary(installed, "vault", "Vault v1.21.4")
    assert _run(repo, [installed]).returncode == 0
    _fake_binary(installed, "vault", "Vault v1.9.0")  # downgraded in place
    proc = _run(repo, [installed])
    assert proc.returncode == 0, proc.stderr
    assert not (repo / ".engines" / "bin" / "vault").is_symlink()
    assert (repo / "built-vault").exists()


def test_engines_from_path_0_builds_everything(tmp_path: pathlib.Path) -> None:
    repo = _tree(tmp_path)
    installed = tmp_path / "installed"
    installed.mkdir()
    _fake_binary(installed, "vault", "Vault v1.21.4")
    proc = _run(repo, [installed], ENGINES_FROM_PATH="0")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name.removeprefix("built-") for p in repo.glob("built-*")) == sorted(ENGINES)


def test_a_failed_build_fails_the_whole_run_and_shows_its_log(tmp_path: pathlib.Path) -> None:
    repo = _tree(tmp_path)
    failing = "#!/usr/bin/env bash\necho boom-etcd; exit 3\n"
    (repo / "tools" / "engines" / "etcd" / "build.sh").write_text(failing)
    proc = _run(repo, [], ENGINES_FROM_PATH="0")
    assert proc.returncode == 1
    assert "etcd FAILED" in proc.stderr and "boom-etcd" in proc.stderr
    # the other lanes still ran
    assert (repo / "built-vault").exists() and (repo / "built-pulumi").exists()
