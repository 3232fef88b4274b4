"""Suite-wide pytest setup.

Fixture modules live in tests/fixtures/ (one per engine or concern) and are loaded here, so a test
directory never has to import another's conftest.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}"
    for p in (ROOT / "tests" / "fixtures").glob("*.py")
    if not p.name.startswith("_")
)
