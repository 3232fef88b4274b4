"""Malformed YAML never yields a traceback: exit 1 or 2 with one-line messages."""

from __future__ import annotations

import contextlib
import io
import pathlib
import subprocess
import sys
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vaultconf.cli import main

from tests.stack._helpers import EXAMPLE

ROOT = pathlib.Path(__file__).resolve().parents[2]

SNIPPETS = [
    "users:",
    "- name: x",
    "  policies: [a]",
    "policies:",
    "  rules: {'*': [sudo]}",
    "workloads:",
    "  identity: {}",
    "kv: [1, 2]",
    "pki: {cas: null}",
    "&a [*a]",
    "!!python/object:os.system x",
    "key: [",
    "{",
    "}",
    "'",
    '"',
    "\t",
    ":",
    "- - -",
    "? complex",
    "<<: *x",
    "%YAML 1.1",
    "---",
    "...",
    "\x00",
    "aws: {roles: [{name: r}]}",
    "users: {name: x}",
    "settings: 3",
    "workloads: [{secrets: [{}]}]",
]

documents = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(SNIPPETS), max_size=12).map("\n".join),
    st.lists(st.tuples(st.sampled_from(SNIPPETS), st.integers(0, 6)), max_size=10).map(
        lambda parts: "\n".join(" " * n + s for s, n in parts)
    ),
)


def _tree(doc: str, root: pathlib.Path) -> pathlib.Path:
    (root / "base").mkdir()
    (root / "dev").mkdir()
    (root / "base" / "a.yaml").write_bytes((EXAMPLE / "base" / "policies.yaml").read_bytes())
    (root / "dev" / "fuzz.yaml").write_text(doc, encoding="utf-8", errors="surrogatepass")
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_main_in_process_never_raises(doc: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vaultconf-fuzz-") as tmp:
        try:
            root = _tree(doc, pathlib.Path(tmp))
        except UnicodeEncodeError:
            return
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["validate", "--config-dir", str(root), "--stack", "dev"], out=out)
    assert code in (0, 1, 2)
    for text in (out.getvalue(), err.getvalue()):
        assert "Traceback" not in text and "internal error" not in text, text
    if code == 2:
        assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()


@settings(max_examples=8, deadline=None)
@given(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=8).map("\n".join))
def test_cli_subprocess_prints_no_traceback(doc: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vaultconf-fuzz-") as tmp:
        root = _tree(doc, pathlib.Path(tmp))
        proc = subprocess.run(
            [sys.executable, "-m", "vaultconf.cli", "validate", "--config-dir", str(root), "--stack", "dev"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
