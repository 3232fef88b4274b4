"""`vaultconf validate --settings-file X` takes the http/skip-verify warnings from X, not from the project's
Pulumi.<stack>.yaml (prod's shipped file says https; X says http)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from tests.stack._helpers import run_cli


def _transport(*argv: str) -> tuple[int, list[dict[str, Any]]]:
    code, out = run_cli("validate", "--stack", "prod", "--format", "json", *argv)
    return code, [f for s in json.loads(out)["stacks"] for f in s["findings"] if f["rule"] == "transport"]


def test_transport_warnings_come_from_the_settings_file(tmp_path: pathlib.Path) -> None:
    plain = tmp_path / "Pulumi.prod.yaml"
    plain.write_text("config:\n  vaultconf:vaultAddress: http://vault.prod.example:8200\n"
                     "  vaultconf:vaultSkipTlsVerify: true\n", encoding="utf-8")
    code, shipped = _transport()
    assert code == 0 and shipped == []  # the project's file: https, verified
    code, found = _transport("--settings-file", str(plain))
    assert code == 0  # warnings
    assert {f["field"] for f in found} == {"vaultconf:vaultAddress", "vaultconf:vaultSkipTlsVerify"}
    assert all(f["severity"] == "warning" and f["file"] == str(plain) for f in found), found
    assert [f["line"] for f in found] == [2, 3]
    clean = tmp_path / "clean.yaml"
    clean.write_text("config:\n  vaultconf:vaultAddress: https://vault.prod.example:8200\n", encoding="utf-8")
    assert _transport("--settings-file", str(clean))[1] == []


def test_settings_file_needs_a_stack(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_cli("validate", "--settings-file", str(tmp_path / "x.yaml"))
    err = capsys.readouterr().err
    assert code == 2 and "--settings-file needs --stack" in err and "Traceback" not in err
