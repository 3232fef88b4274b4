"""Loading a stack's desired state: base files + the stack overlay → merged tree → schema → model → rules."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import pathlib
from collections.abc import Iterator

from . import devstack, rules, schema
from .findings import Finding, Loc, Severity, UnusableInput
from .merge import Merger, strip
from .model import Config, build
from .tree import LocDict, load_text, read_text

BASE = "base"
SUFFIXES = (".yaml", ".yml")
# All files of one stack together (each file alone is bounded by tree.MAX_FILE_BYTES): many files just
# under the per-file limit would otherwise add up to minutes of parsing
MAX_TOTAL_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass
class Result:
    """What validate found for one stack (config is None when the schema failed)."""

    stack: str | None
    files: list[str]
    findings: list[Finding]
    config: Config | None
    dev: bool = False
    """The overlay marks a development stack (vaultconf.config.devstack)."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]


def find_config_dir(start: pathlib.Path | None = None) -> pathlib.Path:
    """$VAULTCONF_CONFIG_DIR, else the nearest infra/config above the working directory."""
    env = os.environ.get("VAULTCONF_CONFIG_DIR")
    if env:
        return pathlib.Path(env)
    here = (start or pathlib.Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "infra" / "config"
        if (candidate / BASE).is_dir():
            return candidate
    raise UnusableInput(
        Loc(str(here), 0),
        "no infra/config/base directory here or above",
        "run inside the repository or pass --config-dir DIR",
    )


def stacks(config_dir: pathlib.Path) -> list[str]:
    """Overlay names: every directory next to base/."""
    if not config_dir.is_dir():
        return []
    return sorted(
        p.name for p in config_dir.iterdir() if p.is_dir() and p.name != BASE and not p.name.startswith(".")
    )


def _display(path: pathlib.Path) -> str:
    try:
        return str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _layer(folder: pathlib.Path, merger: Merger, files: list[str], used: list[int]) -> LocDict:
    layer = LocDict(Loc(_display(folder), 0))
    for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        name = _display(path)
        text = read_text(path, name)
        used[0] += len(text)
        if used[0] > MAX_TOTAL_BYTES:
            raise UnusableInput(Loc(name, 0), f"the stack's files together exceed "
                                f"{MAX_TOTAL_BYTES // (1024 * 1024)} MiB", "remove files that are not config")
        doc = load_text(text, name)
        files.append(name)
        if doc is None:
            continue  # an empty file (or only comments) declares nothing
        if not isinstance(doc, LocDict):
            raise UnusableInput(
                Loc(name, getattr(doc, "loc", Loc(name, 1)).line or 1),
                "the top level must be a mapping of sections (users:, policies:, ...)",
                "start the file with a section name such as `users:`",
            )
        layer = merger.combine(layer, doc)
    return layer


def load_tree(config_dir: pathlib.Path, stack: str | None) -> tuple[LocDict, list[Finding], list[str]]:
    """Merged tree of base/ plus <stack>/ (UnusableInput if a directory or file cannot be read)."""
    base = config_dir / BASE
    if not base.is_dir():
        raise UnusableInput(
            Loc(_display(config_dir), 0),
            f"no {BASE}/ directory",
            "point --config-dir at the directory holding base/ and the stack overlays",
        )
    merger = Merger()
    files: list[str] = []
    used = [0]  # characters read so far, bounded by MAX_TOTAL_BYTES
    tree = strip(_layer(base, merger, files, used))
    merger.findings.extend(devstack.base_findings(tree))
    if stack is not None:
        overlay = config_dir / stack
        if not overlay.is_dir():
            known = ", ".join(stacks(config_dir)) or "none"
            raise UnusableInput(
                Loc(_display(overlay), 0),
                f"no overlay for stack '{stack}'",
                f"create {_display(overlay)}/ or use one of: {known}",
            )
        tree = merger.overlay(tree, _layer(overlay, merger, files, used))
    return tree, merger.findings, files


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the config is loaded and checked.

    Loading builds a large tree of long-lived dicts and lists (the full benchmark config: ~100,000), and
    the collector, triggered by every few hundred allocations, walks them again and again (a tenth of
    `vaultconf validate`'s time). Little of what validate allocates is cyclic; it is collected afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate(
    config_dir: pathlib.Path, stack: str | None, settings_file: pathlib.Path | None = None
) -> Result:
    """Everything `vaultconf validate` checks for one stack (its settings read from `settings_file` when
    given, else Pulumi.<stack>.yaml beside Pulumi.yaml). Raises UnusableInput for exit-2 input."""
    with _collector_paused():
        return _validate(config_dir, stack, settings_file)


def _validate(config_dir: pathlib.Path, stack: str | None, settings_file: pathlib.Path | None) -> Result:
    tree, findings, files = load_tree(config_dir, stack)
    # a marker in base/ is an error finding (load_tree), never a dev stack
    dev = stack is not None and devstack.is_dev(tree, any(f.rule == devstack.RULE for f in findings))
    if stack is not None and not dev:
        from .settings import find_project_dir

        findings = findings + devstack.transport_findings(find_project_dir(config_dir), stack, settings_file)
    schema_findings = schema.check(tree)
    if schema_findings:
        return Result(stack, files, findings + schema_findings, None, dev)
    cfg = build(tree)
    return Result(stack, files, findings + rules.check(cfg), cfg, dev)
