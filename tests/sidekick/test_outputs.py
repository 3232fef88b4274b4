"""The atomic writer: modes, owners, unchanged files untouched, never a partial file, group swap order."""

from __future__ import annotations

import hashlib
import os
import pathlib
import threading

import pytest
from sidekick import outputs
from sidekick.outputs import clean_temp_files, write_files


def test_modes_and_content(tmp_path: pathlib.Path) -> None:
    a, b = tmp_path / "a", tmp_path / "sub" / "b"
    assert write_files([(str(a), b"one"), (str(b), b"two")]) == [str(a), str(b)]
    assert a.read_bytes() == b"one" and b.read_bytes() == b"two"
    assert a.stat().st_mode & 0o777 == 0o600
    write_files([(str(a), b"one")], mode=0o640)  # same content, new mode: rewritten
    assert a.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["a", "sub"]  # no temp files left


def test_unchanged_files_are_not_touched(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "x"
    write_files([(str(path), b"same")])
    inode = path.stat().st_ino
    assert write_files([(str(path), b"same")]) == []
    assert path.stat().st_ino == inode
    assert write_files([(str(path), b"new")]) == [str(path)]
    assert path.stat().st_ino != inode  # replaced by rename, never rewritten in place


def test_group_owner(tmp_path: pathlib.Path) -> None:
    gid = os.getgid()
    path = tmp_path / "g"
    write_files([(str(path), b"x")], mode=0o640, group=gid)
    assert path.stat().st_gid == gid and path.stat().st_mode & 0o777 == 0o640


def test_failure_leaves_old_files_and_no_temp(tmp_path: pathlib.Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    crt, key = tmp_path / "t.crt", tmp_path / "t.key"
    write_files([(str(crt), b"old-cert"), (str(key), b"old-key")])
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # the second file of the group fails mid-way (disk full)
            real_write(fd, bytes(data)[:3])
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError):
        write_files([(str(crt), b"new-cert"), (str(key), b"new-key")])
    monkeypatch.undo()
    # neither file changed: the group is all-or-nothing before the renames
    assert crt.read_bytes() == b"old-cert" and key.read_bytes() == b"old-key"
    assert sorted(os.listdir(tmp_path)) == ["t.crt", "t.key"]


def test_readers_never_see_partial_content(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "big"
    versions = [bytes([65 + i]) * 200_000 for i in range(6)]
    write_files([(str(path), versions[0])])
    stop = threading.Event()
    bad: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            data = path.read_bytes()
            if data not in versions:
                bad.append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(5):
        for version in versions:
            write_files([(str(path), version)])
    stop.set()
    thread.join()
    assert bad == []


def test_certificate_is_renamed_last(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real = os.replace

    def spy(src: str, dst: str, **dir_fds: int) -> None:  # the writer renames within a directory fd
        order.append(os.path.basename(dst))
        real(src, dst, **dir_fds)

    monkeypatch.setattr(outputs.os, "replace", spy)
    write_files([(str(tmp_path / n), b"x") for n in ("s.crt", "s.key", "s.ca")])
    assert order[-1] == "s.crt"
    order.clear()
    write_files([(str(tmp_path / n), b"y") for n in ("b-bundle.pem", "b.pem", "b-ca.pem", "b-key.pem")])
    assert set(order[:2]) == {"b-ca.pem", "b-key.pem"}


def test_dryrun_prints_and_writes_nothing(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-dryrun names each file with its size and a hash prefix, never its content (stdout reaches logs)."""
    secret = b"s3cret-Value-42"
    assert write_files([(str(tmp_path / "d"), secret)], dryrun=True) == [str(tmp_path / "d")]
    assert not (tmp_path / "d").exists()
    out = capsys.readouterr().out
    assert "s3cret" not in out and "Value-42" not in out
    digest = hashlib.sha256(secret).hexdigest()
    assert out == f"dry-run: {tmp_path / 'd'} (mode 0600, {len(secret)} bytes, sha256 {digest[:12]})\n"


def test_clean_temp_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".a.sidekick-tmp-123").write_text("x")
    (tmp_path / "keep").write_text("y")
    clean_temp_files(str(tmp_path))
    assert os.listdir(tmp_path) == ["keep"]
