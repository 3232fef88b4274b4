"""One error hierarchy per package, with names that say which package raised them (issue 15)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import sidekick
import vaultconf
from vaultconf.errors import ConfigError, VaultconfError


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        found.append(importlib.import_module(info.name))
    return found


def _exceptions(package: ModuleType) -> dict[str, type[BaseException]]:
    """Exception classes defined (not merely imported) in the package's modules."""
    out: dict[str, type[BaseException]] = {}
    for module in _modules(package):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                out[f"{module.__name__}.{name}"] = obj
    return out


def test_every_vaultconf_exception_is_a_vaultconf_error() -> None:
    found = _exceptions(vaultconf)
    assert len(found) >= 4, found  # ConfigError, UnusableInput, VaultApiError, PolicySyntaxError, ...
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, VaultconfError))
    assert strays == []
    # library users who catch ValueError for bad component input keep working
    assert issubclass(ConfigError, ValueError)


def test_exception_names_differ_between_vaultconf_and_the_sidekick() -> None:
    ours = {cls.__name__ for cls in _exceptions(vaultconf).values()}
    theirs = {cls.__name__ for cls in _exceptions(sidekick).values()}
    assert ours & theirs == set()
    assert "SidekickError" in theirs  # the scan really saw the sidekick's classes
