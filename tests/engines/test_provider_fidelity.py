"""Fidelity of the project's Vault provider to the upstream one: the Go unit tests in
tools/engines/pulumi-vault (fidelity_test.go: import ID formats, replace vs update, defaults and
Optional+Computed fields, TTLs in seconds, sets, JSON and PEM comparison) run here so `make test` runs them.

Go builds that provider (`make engines`); a machine without Go fails here with that message, never a skip.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

PROVIDER = pathlib.Path(__file__).resolve().parents[2] / "tools" / "engines" / "pulumi-vault"


@pytest.mark.engines
def test_provider_fidelity_go_tests() -> None:
    go = shutil.which("go")
    if go is None:
        pytest.fail("`go` is not on PATH: it builds the engines (`make engines`) and runs these tests",
                    pytrace=False)
    result = subprocess.run(
        [go, "test", "-count=1", "-run", ".", "./..."],
        cwd=PROVIDER, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "ok" in result.stdout  # tests ran (a package without test files prints "no test files")
