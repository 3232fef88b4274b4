"""`sidekick --config` and its credentials file against hostile input: bounded, one line, exit 2.

The CLI cases run the real entry point as a subprocess under a 1 GB address-space limit (issue 12: the
nine-line alias bomb ended in a MemoryError traceback).
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest
from sidekick import structured
from sidekick.config_file import load_file
from sidekick.errors import SidekickConfigError

from tests.support.limits import alias_bomb, run_bounded, write_large

GOOD = "vault: {addr: https://vault.example:8200}\nresources:\n  - {name: db, type: kv, path: kv/db}\n"


def _sidekick(config: pathlib.Path) -> list[str]:
    return [sys.executable, "-m", "sidekick", "--config", str(config)]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}


def _one_line(stderr: str, where: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0], stderr
    assert lines[0].startswith("sidekick: configuration error: "), stderr


def test_an_alias_bomb_is_refused_quickly_and_small(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "sidekick.yaml"
    config.write_text(alias_bomb(last_key="resources"), encoding="utf-8")
    run = run_bounded(_sidekick(config), env=_env())
    assert run.returncode == 2, run
    assert run.seconds < 5, run.seconds
    assert run.max_rss_mb < 200, run.max_rss_mb
    _one_line(run.stderr, "sidekick.yaml:6: this value expands to more than 150,000 values")


def test_a_50_mb_config_is_refused_before_parsing(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "huge.yaml"
    write_large(config, 50 << 20, "  - {name: db, type: kv, path: kv/db}\n")
    run = run_bounded(_sidekick(config), env=_env())
    assert run.returncode == 2, run
    assert run.seconds < 2, run.seconds
    _one_line(run.stderr, "huge.yaml: the sidekick config is larger than 1024 KiB")


@pytest.mark.parametrize(("name", "content", "where"), [
    ("latin1.yaml", b"vault:\n  addr: caf\xe9\n", "latin1.yaml:2: the sidekick config is not UTF-8"),
    ("deep.json", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "deep.json: the sidekick config is"),
    ("deep.yaml", b"a: " + b"[" * 500 + b"]" * 500 + b"\n", "deep.yaml:1: nested deeper than 64 levels"),
    ("loop.yaml", b"a: &a [*a]\n", "loop.yaml"),
], ids=["non-utf8", "deep-json", "deep-yaml", "recursive-alias"])
def test_malformed_configs_give_one_line(tmp_path: pathlib.Path, name: str, content: bytes,
                                         where: str) -> None:
    config = tmp_path / name
    config.write_bytes(content)
    run = run_bounded(_sidekick(config), env=_env())
    assert run.returncode == 2, run
    _one_line(run.stderr, where)


def test_the_credentials_file_is_bounded_too() -> None:
    with pytest.raises(SidekickConfigError, match="expands to more than"):
        structured.parse(alias_bomb(), "/etc/vault-sidekick/login", "credentials file")
    with pytest.raises(SidekickConfigError, match="larger than"):
        structured.parse("x" * (structured.MAX_FILE_BYTES + 1), "/etc/login", "credentials file")


def test_lines_still_point_at_the_field(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "s.yaml"
    config.write_text(GOOD + "    mode: banana\n", encoding="utf-8")
    with pytest.raises(SidekickConfigError, match=r"s\.yaml:4: "):
        load_file(str(config))
    # an anchor reused within the budget loads, each alias with the anchor's values
    shared = GOOD.replace("  - {name: db, type: kv, path: kv/db}\n",
                          "  - &r {name: db, type: kv, path: kv/db, format: env}\n  - {<<: *r, name: db2}\n")
    config.write_text(shared, encoding="utf-8")
    cfg = load_file(str(config))
    assert [(r.name, r.format) for r in cfg.resources] == [("db", "env"), ("db2", "env")]
