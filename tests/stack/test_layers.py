"""`vaultconf.config` (YAML → typed model → findings) stays pure: no component, no Pulumi SDK (issue 15).

The stack builder that turns the model into components lives in `vaultconf.stackbuild`; `vaultconf
validate`, the policy pack and `vaultconf import` load `vaultconf.config` without the provider SDKs.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import vaultconf

PACKAGE = pathlib.Path(vaultconf.__file__).resolve().parent
CONFIG = PACKAGE / "config"
# what config/ may import from the library: shared helpers that are themselves free of Pulumi
ALLOWED = {
    "vaultconf.errors",
    "vaultconf.ttl",
    "vaultconf.names",
    "vaultconf.acl",
    "vaultconf.hcl",
    "vaultconf.binding",
}
ALLOWED_PREFIXES = ("vaultconf.config", "vaultconf.policy_analysis")


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = "vaultconf." + ".".join(path.relative_to(PACKAGE).parent.parts)
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from vaultconf import names` imports the module vaultconf.names
            subs = [f"{module}.{a.name}" for a in node.names] if module == "vaultconf" else [module]
            found.extend((node.lineno, m) for m in subs)
    return found


def _forbidden(module: str) -> bool:
    if module.split(".")[0].startswith("pulumi"):
        return True
    if module == "vaultconf" or module.startswith("vaultconf."):
        return module not in ALLOWED and not module.startswith(ALLOWED_PREFIXES)
    return False


def test_config_imports_no_component_and_no_pulumi() -> None:
    files = sorted(CONFIG.rglob("*.py"))
    assert len(files) > 10, files
    bad = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in files
        for line, module in _imports(path)
        if _forbidden(module)
    ]
    assert bad == []


def test_the_check_catches_a_component_import() -> None:
    assert (
        _forbidden("vaultconf.workload") and _forbidden("pulumi_vault") and _forbidden("vaultconf.stackbuild")
    )
    assert not _forbidden("vaultconf.config.model") and not _forbidden("vaultconf.names")


def test_loading_the_config_package_loads_no_pulumi() -> None:
    # every module of config/, in a fresh interpreter: nothing it pulls in transitively may be Pulumi
    modules = sorted(f"vaultconf.config.{p.stem}" for p in CONFIG.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
