"""Load vaultconf's rule functions (vaultconf.config.lint) into the pack's venv.

The pack venv has pulumi-policy but not the component library's provider SDKs, and importing
`vaultconf.config.lint` normally runs `vaultconf/__init__.py`, which imports them all. The rules only need
standard-library modules: vaultconf.acl, .errors, .policy_analysis (the one policy judge), .names and
.config.policytext (imported when a rule runs) and sidekick.contract (the capability table), so we register
bare package objects for `vaultconf`, `vaultconf.config` and `sidekick` pointing at the source trees and
import lint directly; the package `__init__`s never run. If vaultconf is importable normally (e.g. the
suite's venv), that is used instead.
"""

from __future__ import annotations

import importlib
import pathlib
import sys
import types
from typing import Any

COMPONENTS = pathlib.Path(__file__).resolve().parent.parent / "components"


def _bare_packages() -> None:
    for name, folder in (
        ("vaultconf", COMPONENTS / "vaultconf"),
        ("vaultconf.config", COMPONENTS / "vaultconf" / "config"),
        # the capability table lint reads: sidekick.contract (standard library only)
        ("sidekick", COMPONENTS.parent / "sidekick_image" / "sidekick"),
    ):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(folder)]
            sys.modules[name] = module


def load_lint() -> Any:
    try:
        return importlib.import_module("vaultconf.config.lint")
    except ImportError:
        for name in [m for m in sys.modules if m == "vaultconf" or m.startswith("vaultconf.")]:
            del sys.modules[name]
        _bare_packages()
        return importlib.import_module("vaultconf.config.lint")
