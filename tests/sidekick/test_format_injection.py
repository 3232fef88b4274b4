"""Every format, fed arbitrary keys and values, is read back by its real reader as the same mapping, or the
secret is refused with OutputRefused; sourcing an env file never runs a command."""

from __future__ import annotations

import atexit
import configparser
import csv
import io
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sidekick.config import Resource
from sidekick.formats import file_names, render
from sidekick.outputs import Claims, OutputRefused, write_files

CANARY = "canary"  # a payload that runs creates this file in the shell's working directory
PAYLOADS = [
    f"$(touch {CANARY})", f"`touch {CANARY}`", f"$'\\x27'$(touch {CANARY})", f"';touch {CANARY};'",
    f"\ntouch {CANARY}\n", f"\\'$(touch {CANARY})", f"${{x:=$(touch {CANARY})}}", "'\"'\"'", "$'", "'",
    '"', "=", "[s]", "#", ";", "\x00", "\r", "\u2028", "\x85", " lead", "trail ", "%(x)s", "\ud800", "é",
]
HOSTILE_KEYS = ["x/../../../evil", "y/../tls.crt", "..", "/abs", "a=b", "[s]", "#c", ";c", "a b", "PATH",
                "BASH_ENV", "ld_preload", "_", "A", "a", "Ab", "aB", f"$(touch {CANARY})", "a\nb", "\x00",
                "k" * 300, "\ud800", "é"]
keys = st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE_KEYS),
                 st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True))
values = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(PAYLOADS)), max_size=4).map("".join)
secrets = st.dictionaries(keys, values, max_size=6)
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_work = pathlib.Path(tempfile.mkdtemp(prefix="format-injection-"))  # hypothesis: no function fixtures
atexit.register(shutil.rmtree, _work, True)


def res(fmt: str) -> Resource:
    r = Resource("r", "secret", "a/b")
    r.format, r.file = fmt, "out"
    return r


def rendered(fmt: str, data: dict[str, str]) -> bytes | None:
    """The single file of a one-file format, or None when the secret was refused."""
    try:
        [(name, content)] = render(res(fmt), data)
    except OutputRefused as exc:
        assert "nothing was written" in str(exc)
        return None
    assert name == "out"
    return content


BASH_OWN = {"PWD", "SHLVL", "_", "OLDPWD"}


def source_env(content: bytes) -> dict[str, str]:
    """`set -a; . FILE; env -0` in bash with an empty environment, in a directory that must stay empty
    of the canary."""
    workdir = pathlib.Path(tempfile.mkdtemp(dir=_work))
    (workdir / "secret.env").write_bytes(content)
    try:
        proc = subprocess.run(["/usr/bin/env", "-i", "/bin/bash", "-c", "set -a; . ./secret.env; env -0"],
                              cwd=workdir, capture_output=True, timeout=20, check=False)
        assert not (workdir / CANARY).exists(), content  # nothing ran
        assert proc.returncode == 0 and proc.stderr == b"", (content, proc.stderr)
        found = dict(item.split("=", 1) for item in proc.stdout.decode().split("\0") if item)
        return {k: v for k, v in found.items() if k not in BASH_OWN}
    finally:
        shutil.rmtree(workdir)


def is_shell_name(key: str) -> bool:
    import re

    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) is not None


@EXAMPLES
@given(secrets)
def test_env_reads_back_or_is_refused_and_never_runs_anything(data: dict[str, str]) -> None:
    content = rendered("env", data)
    if content is None:
        # refused only for what the README documents: a key that is no shell name, a reserved name, two
        # keys naming one variable, a NUL or a lone surrogate
        upper = [k.upper() for k in data]
        assert (not all(is_shell_name(k) for k in data) or len(set(upper)) < len(upper)
                or any(k in ("PATH", "BASH_ENV", "LD_PRELOAD", "_") or k.startswith(("BASH", "LD_", "LC_"))
                       for k in upper)
                or any("\x00" in v or "\ud800" in v for v in data.values())
                or any(k in _reserved() for k in upper)), data
        return
    assert source_env(content) == {k.upper(): v for k, v in data.items()}


def _reserved() -> frozenset[str]:
    from sidekick import formats

    return formats._SHELL_RESERVED


SHELL_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda k: k.upper() not in _reserved() and not k.upper().startswith(("BASH", "LD_", "LC_", "COMP_")))
SHELL_VALUES = st.lists(st.one_of(
    # a lone surrogate cannot be encoded as UTF-8: every format refuses it, so it is no shell value
    st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=8),
    st.sampled_from([p for p in PAYLOADS if p not in ("\x00", "\ud800")])), max_size=4).map("".join)


@EXAMPLES
@given(st.dictionaries(SHELL_NAMES, SHELL_VALUES, max_size=5))
def test_env_values_are_never_refused_and_come_back_exactly(data: dict[str, str]) -> None:
    """Any value a shell variable can hold (all but NUL) is written, injection payloads included."""
    content = rendered("env", data)
    assert content is not None
    assert source_env(content) == {k.upper(): v for k, v in data.items()}


@EXAMPLES
@given(secrets)
def test_ini_reads_back_with_configparser_or_is_refused(data: dict[str, str]) -> None:
    content = rendered("ini", data)
    if content is None:
        return
    parser = configparser.ConfigParser(interpolation=None)  # values are raw: a % is a %
    path = _work / "secret.ini"
    path.write_bytes(content)
    parser.read_string("[s]\n" + path.read_text(encoding="utf-8"))  # universal newlines, as a file
    assert dict(parser["s"]) == {k.lower(): v for k, v in data.items()}
    assert parser.sections() == ["s"]  # no section injected


@EXAMPLES
@given(secrets)
def test_csv_reads_back_with_the_csv_module_or_is_refused(data: dict[str, str]) -> None:
    content = rendered("csv", data)
    if content is None:
        assert any("\x00" in k + v or "\ud800" in k + v for k, v in data.items())
        return
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))
    assert all(len(row) == 2 for row in rows)
    assert dict(rows) == data and len(rows) == len(data)


@EXAMPLES
@given(secrets)
def test_yaml_and_json_read_back_exactly(data: dict[str, str]) -> None:
    content = rendered("yaml", data)
    assert content is not None and yaml.safe_load(content.decode("utf-8")) == data
    content = rendered("json", data)
    assert content is not None and json.loads(content) == data


@EXAMPLES
@given(st.fixed_dictionaries({"access_key": values, "secret_key": values, "security_token": values}))
def test_aws_credentials_read_back_or_are_refused(data: dict[str, str]) -> None:
    content = rendered("aws", data)
    if content is None:
        return
    parser = configparser.RawConfigParser()
    parser.read_string(content.decode("utf-8"))
    assert parser.sections() == ["default"]  # never a second profile, never credential_process
    section = parser["default"]
    assert section["aws_access_key_id"] == data["access_key"]
    assert section["aws_secret_access_key"] == data["secret_key"]
    if data["security_token"]:
        assert section["aws_session_token"] == data["security_token"]
    assert set(section) <= {"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                            "aws_security_token"}


@EXAMPLES
@given(secrets)
def test_txt_files_stay_inside_and_read_back_or_are_refused(data: dict[str, str]) -> None:
    """txt names a file after each key: through the writer, each key is its own file in the output
    directory with its value, or nothing at all is written."""
    top = pathlib.Path(tempfile.mkdtemp(dir=_work))
    out = top / "out"
    r = res("txt")
    claims = Claims(str(out))
    names, prefix = file_names(r)
    claims.add(Claims.label("r"), names, prefix)
    try:
        try:
            files = render(r, data)
            write_files(files, claims=claims, claimant=Claims.label("r"))
        except OutputRefused:
            assert os.listdir(top) in ([], ["out"])
            assert not out.exists() or not any(out.iterdir())  # nothing written, not even the good keys
            return
        assert os.listdir(top) == (["out"] if data else [])
        found = {p.name: p.read_bytes() for p in out.iterdir()} if data else {}
        if not data:
            assert files == []
        elif len(data) == 1:
            assert found == {"out": next(iter(data.values())).encode()}
        else:
            assert found == {f"out.{k}": v.encode() for k, v in data.items()}
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize("fmt", ["cert", "bundle", "certchain"])
@EXAMPLES
@given(data=st.fixed_dictionaries({"certificate": values, "private_key": values, "issuing_ca": values}))
def test_pem_formats_write_exactly_what_vault_sent(fmt: str, data: dict[str, str]) -> None:
    try:
        files = dict(render(res(fmt), data))
    except OutputRefused:
        assert any("\ud800" in v for v in data.values())
        return
    assert set(files) == set(file_names(res(fmt))[0])
    joined = b"".join(files.values()).decode("utf-8")
    for value in data.values():
        assert value in joined
