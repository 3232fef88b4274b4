"""`vaultconf.testing` is the public, documented mocks helper: the README's example passes as a test file,
the suite's helper is the same object (one copy), and every exported Args class has resolvable type hints."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import typing

import pytest
import vaultconf
import vaultconf.testing

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "components" / "README.md"


def _testing_example() -> str:
    blocks = re.findall(r"```py\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "components/README.md should hold exactly one ```py (vaultconf.testing) example"
    return blocks[0]


def test_the_readme_example_passes_under_pytest(tmp_path: pathlib.Path) -> None:
    # run as another stack would: a test file of its own, plain pytest, no conftest of ours
    (tmp_path / "test_my_stack.py").write_text(_testing_example(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path / "test_my_stack.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_a_failing_expectation_fails(tmp_path: pathlib.Path) -> None:
    # the example's assertions can fail: a stack whose user lands in another namespace does
    broken = _testing_example().replace('"namespaces": ["team-a"]', '"namespaces": ["team-b"]')
    assert broken != _testing_example()
    (tmp_path / "test_broken.py").write_text(broken, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path / "test_broken.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 1, result.stdout[-2000:]


def test_the_suite_uses_the_public_helper() -> None:
    # one copy: the recording mocks live in the library only, and no test imports another
    assert not (ROOT / "tests" / "support" / "pulumi_mocks.py").exists()
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "support.pulumi_mocks" not in text or path == pathlib.Path(__file__), path
    from tests.fixtures import pulumi_mocks as fixture

    assert fixture.run_under_mocks is vaultconf.testing.run_under_mocks


def test_an_error_inside_apply_surfaces() -> None:
    import pulumi

    def program() -> None:
        pulumi.Output.from_input(1).apply(lambda _: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        vaultconf.testing.run_under_mocks(program)


ARGS = sorted(n for n in vaultconf.__all__ if n.endswith(("Args", "Spec")))


def test_there_are_args_classes() -> None:
    assert len([n for n in ARGS if n.endswith("Args")]) >= 10


@pytest.mark.parametrize("name", ARGS)
def test_get_type_hints_works_on_every_args_class(name: str) -> None:
    hints = typing.get_type_hints(getattr(vaultconf, name))
    assert hints, name
