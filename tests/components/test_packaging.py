"""After `pip install -e components`, type checkers see the installed package.

setuptools' default editable install is an import hook (a MetaPathFinder) that mypy and pyright cannot
follow; components/pyproject.toml's `package-dir` makes it a plain path entry instead. This installs the
library editable into a fresh venv and runs mypy against that venv on a file outside the repository.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

USE = textwrap.dedent(
    """\
    import pathlib

    import vaultconf
    from vaultconf.config import validate

    result = validate(pathlib.Path("x"), None)
    count: str = len(result.findings)
    reveal_type(vaultconf.parse_ttl)
    """
)


@pytest.mark.slow
def test_mypy_sees_an_editable_install(tmp_path: pathlib.Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
         "--disable-pip-version-check", "-e", str(ROOT / "components")],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    pth = list((venv / "lib").glob("python3*/site-packages/__editable__*vaultconf*.pth"))
    assert len(pth) == 1, pth
    # a path entry, not `import __editable___..._finder` (which no type checker executes)
    assert pth[0].read_text().strip() == str(ROOT / "components")

    work = tmp_path / "elsewhere"  # no mypy config, no components/ on a search path of its own
    work.mkdir()
    (work / "use.py").write_text(USE, encoding="utf-8")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental",
         "--python-executable", str(venv / "bin" / "python"), "use.py"],
        cwd=work, capture_output=True, text=True, timeout=600, check=False,
    )
    out = checked.stdout
    assert "import-not-found" not in out and "Cannot find implementation" not in out, out
    # it sees the real signatures: the deliberate mistake on line 7 is found, the function's type is known
    assert 'use.py:7: error: Incompatible types in assignment (expression has type "int"' in out, out
    assert 'use.py:8: note: Revealed type is "def (value: Any' in out, out
