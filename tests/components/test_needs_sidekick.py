"""Without the sidekick package (it owns the config contract), importing vaultconf says what to install."""

from __future__ import annotations

import subprocess
import sys


def test_importing_vaultconf_without_the_sidekick_package_names_what_to_install() -> None:
    code = "import sys; sys.modules['sidekick'] = None; import vaultconf"  # as if it were not installed
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: vaultconf needs the sidekick package"), proc.stderr
    assert "pip install -e sidekick_image" in last


def test_with_the_sidekick_package_vaultconf_imports() -> None:
    proc = subprocess.run([sys.executable, "-c", "import vaultconf.config.lint"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
