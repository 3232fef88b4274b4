"""validate() pauses the cyclic garbage collector while it loads and checks, and always gives it back."""

from __future__ import annotations

import gc
import pathlib
from collections.abc import Iterator

import pytest
from vaultconf.config import validate
from vaultconf.config.findings import UnusableInput

from tests.stack._helpers import EXAMPLE


@pytest.fixture
def collector_state() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_state")
def test_the_collector_is_enabled_again_after_validate() -> None:
    gc.enable()
    assert validate(EXAMPLE, "dev").dev is True
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_the_collector_is_enabled_again_when_the_input_is_unusable(tmp_path: pathlib.Path) -> None:
    gc.enable()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "bad.yaml").write_text("users: [\n", encoding="utf-8")
    with pytest.raises(UnusableInput):
        validate(tmp_path, None)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    validate(EXAMPLE, "dev")
    assert not gc.isenabled()
