"""Config directories for tests: the shipped example, or small hand-written ones."""

from __future__ import annotations

import io
import pathlib
import shutil
import textwrap

from vaultconf.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "config"


def write_tree(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (root / "base").mkdir(exist_ok=True)
    return root


def example_with(tmp: pathlib.Path, overlay: str, name: str = "dev/zz-test.yaml") -> pathlib.Path:
    """The shipped example (base + dev) plus one more dev overlay file holding `overlay`."""
    target = tmp / "config"
    shutil.copytree(EXAMPLE, target)
    write_tree(target, {name: overlay})
    return target


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()
