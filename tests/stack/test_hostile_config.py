"""`vaultconf` against hostile config files: bounded time and memory, one clear line, exit 2.

Each case runs the real CLI as a subprocess under a 1 GB address-space limit (issue 12: a nine-line alias bomb
once grew `vaultconf validate` to 23.9 GB, and a 50 MB file took 200 s).
"""

from __future__ import annotations

import pathlib
import shutil
import sys

import pytest
from vaultconf.config import loader
from vaultconf.config.findings import UnusableInput

from tests.support.limits import alias_bomb, run_bounded, write_large

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "config"


def _tree(tmp: pathlib.Path, name: str, text: str | None = None) -> pathlib.Path:
    """The shipped example config plus one more base file."""
    root = tmp / "config"
    shutil.copytree(EXAMPLE, root)
    if text is not None:
        (root / "base" / name).write_text(text, encoding="utf-8")
    return root


def _vaultconf(*args: str) -> list[str]:
    return [sys.executable, "-m", "vaultconf.cli", *args]


def _one_clear_line(stderr: str, where: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and "(fix: " in lines[0], stderr


@pytest.mark.parametrize("command", [["validate"], ["validate", "--stack", "prod"], ["diff", "dev", "prod"]])
def test_an_alias_bomb_is_refused_quickly_and_small(tmp_path: pathlib.Path, command: list[str]) -> None:
    root = _tree(tmp_path, "bomb.yaml", alias_bomb())
    run = run_bounded(_vaultconf(*command, "--config-dir", str(root)), cwd=ROOT)
    assert run.returncode == 2, run
    assert run.seconds < 5, run.seconds
    assert run.max_rss_mb < 200, run.max_rss_mb
    _one_clear_line(run.stderr, "bomb.yaml:7: this value expands to more than")


def test_a_50_mb_file_is_refused_before_parsing(tmp_path: pathlib.Path) -> None:
    root = _tree(tmp_path, "huge.yaml")
    write_large(root / "base" / "huge.yaml", 50 << 20, "  - {name: u, policies: [p]}\n")
    run = run_bounded(_vaultconf("validate", "--config-dir", str(root)), cwd=ROOT)
    assert run.returncode == 2, run
    assert run.seconds < 2, run.seconds
    _one_clear_line(run.stderr, "huge.yaml: file larger than 4 MiB")


def test_non_utf8_names_the_line(tmp_path: pathlib.Path) -> None:
    root = _tree(tmp_path, "latin1.yaml")
    (root / "base" / "latin1.yaml").write_bytes(b"users:\n  - name: caf\xe9\n")
    run = run_bounded(_vaultconf("validate", "--config-dir", str(root)), cwd=ROOT)
    assert run.returncode == 2, run
    _one_clear_line(run.stderr, "latin1.yaml:2: not UTF-8 text (byte 0xe9)")


@pytest.mark.parametrize("text", ["users: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "users:\n" + "".join("  " * i + "- \n" for i in range(1, 300))],
                         ids=["flow", "block"])
def test_deep_nesting_is_refused(tmp_path: pathlib.Path, text: str) -> None:
    root = _tree(tmp_path, "deep.yaml", text)
    run = run_bounded(_vaultconf("validate", "--config-dir", str(root)), cwd=ROOT)
    assert run.returncode == 2, run
    _one_clear_line(run.stderr, "deep.yaml")


def test_many_files_together_are_bounded(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, "extra.yaml", "users: []\n# " + "x" * 4000 + "\n")
    shipped = sum(len(p.read_text(encoding="utf-8")) for p in (EXAMPLE / "base").glob("*.yaml"))
    monkeypatch.setattr(loader, "MAX_TOTAL_BYTES", shipped + 1000)  # the shipped files fit, not the extra
    with pytest.raises(UnusableInput, match="files together exceed"):
        loader.load_tree(root, None)
    monkeypatch.setattr(loader, "MAX_TOTAL_BYTES", shipped + 5000)
    assert loader.load_tree(root, None)[0]["users"]


def test_shared_aliases_under_the_budget_still_load(tmp_path: pathlib.Path) -> None:
    """A config that reuses an anchor many times, but within the budget, loads as before."""
    first = "  - &u {name: u0, policies: [billing-reader], token_ttl: 1h, token_max_ttl: 2h}\n"
    users = first + "".join(f"  - {{<<: *u, name: u{i}}}\n" for i in range(1, 2000))
    root = _tree(tmp_path, "anchored.yaml", "users:\n" + users)
    tree = loader.load_tree(root, "dev")[0]
    names = {u["name"] for u in tree["users"]}
    assert {"u0", "u1999"} <= names
    assert next(u for u in tree["users"] if u["name"] == "u7")["token_ttl"] == "1h"
