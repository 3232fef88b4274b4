"""Certificate, key and chain files switch together (sidekick/swap.py): a version directory behind one
symlink swap, stable visible links, old versions removed, and every confinement rule kept."""

from __future__ import annotations

import os
import pathlib
import threading
import time

import pytest
from sidekick.config import Resource
from sidekick.errors import SidekickConfigError
from sidekick.formats import render, switched_together
from sidekick.outputs import Claims, OutputRefused, write_files

from tests.sidekick.test_confinement import tree
from tests.sidekick.test_scheduler import make_config, resource

NAMES = ("tls.crt", "tls.key", "tls.ca")


def group(out: pathlib.Path, n: int | str) -> list[tuple[str, bytes]]:
    return [(str(out / name), f"{name.split('.')[1].upper()}-{n}\n".encode()) for name in NAMES]


def versions(out: pathlib.Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("..tls.v-"))


def current(out: pathlib.Path) -> str:
    return os.readlink(out / "..tls.data")


def read(out: pathlib.Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in NAMES}


def test_layout_one_link_swapped_older_versions_removed(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    assert write_files(group(out, 1), versioned="tls") == [str(out / n) for n in NAMES]
    (first,) = versions(out)
    assert os.readlink(out / "..tls.data") == first
    for name in NAMES:
        assert os.readlink(out / name) == f"..tls.data/{name}"  # stable, relative: works at any mount path
    assert read(out) == {n: c for n, c in ((pathlib.Path(p).name, c) for p, c in group(out, 1))}
    assert (out / first / "tls.key").stat().st_mode & 0o777 == 0o600
    assert (out / first).stat().st_mode & 0o777 == 0o700
    # unchanged: nothing written, no new version
    assert write_files(group(out, 1), versioned="tls") == []
    assert versions(out) == [first]
    # a new version: the one link moves, the visible links stay; the version before stays until the next
    # switch (a reader whose open() resolved the old link a moment ago still finds its files)
    links = {n: os.lstat(out / n).st_ino for n in NAMES}
    assert write_files(group(out, 2), versioned="tls") == [str(out / n) for n in NAMES]
    second = current(out)
    assert second != first and versions(out) == sorted([first, second])
    assert {n: os.lstat(out / n).st_ino for n in NAMES} == links
    assert read(out)["tls.key"] == b"KEY-2\n"
    # group readable by a group: the version directory is traversable by it too, no further
    write_files(group(out, 3), mode=0o640, versioned="tls")
    third = current(out)
    assert versions(out) == sorted([second, third])  # the first is gone
    assert (out / third).stat().st_mode & 0o777 == 0o750 and (out / "tls.crt").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(out)) == sorted([*NAMES, "..tls.data", second, third])  # no temp file left


@pytest.mark.timeout(120)
def test_a_concurrent_reader_never_pairs_a_new_key_with_an_old_certificate(tmp_path: pathlib.Path) -> None:
    """Readers open the names the app opens (tls.crt, tls.key, tls.ca) one after the other while the
    group is replaced 400 times. Whenever the certificate read before and after the key is the same one,
    the key (and CA) read in between must be its own. With one rename per file (the CA and key first, the
    certificate last) a reader could read the old certificate, the new key, and the old certificate again."""
    out = tmp_path / "out"
    write_files(group(out, 0), versioned="tls")
    stop = threading.Event()
    mismatches: list[tuple[bytes, bytes, bytes]] = []
    missing: list[str] = []
    decisive = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                crt = (out / "tls.crt").read_bytes()
                key = (out / "tls.key").read_bytes()
                ca = (out / "tls.ca").read_bytes()
                again = (out / "tls.crt").read_bytes()
            except FileNotFoundError as exc:
                missing.append(str(exc))
                continue
            if crt == again:  # no switch completed in between: all three are one version
                decisive[0] += 1
                version = crt.split(b"-")[1]
                if key != b"KEY-" + version or ca != b"CA-" + version:
                    mismatches.append((crt, key, ca))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    try:
        for n in range(1, 401):
            write_files(group(out, n), versioned="tls")
            if time.monotonic() > deadline:
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert mismatches == [] and missing == []
    assert decisive[0] > 100, decisive  # the readers really interleaved with the switches
    assert read(out)["tls.crt"] == b"CRT-400\n" and len(versions(out)) == 2


def test_plain_files_become_links_and_a_failed_write_changes_nothing(tmp_path: pathlib.Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_files(group(out, 1))  # an older sidekick's plain files
    assert write_files(group(out, 1), versioned="tls") == [str(out / n) for n in NAMES]  # links are new
    assert all((out / n).is_symlink() for n in NAMES) and read(out)["tls.ca"] == b"CA-1\n"
    before = tree(out)
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # the key of the new version: disk full
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError):
        write_files(group(out, 2), versioned="tls")
    monkeypatch.undo()
    assert tree(out) == before  # old version in place, the half-written one removed


def test_confinement_holds_for_the_hidden_names(tmp_path: pathlib.Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (outside / "tls.crt").write_bytes(b"untouched")
    # ..tls.data planted as a link to a directory elsewhere: never read nor written through, replaced
    (out / "..tls.data").symlink_to(outside)
    (out / "tls.key").symlink_to(outside / "tls.crt")  # a visible name planted as a link elsewhere
    write_files(group(out, 1), versioned="tls")
    assert tree(outside) == {"tls.crt": b"untouched"}
    assert read(out)["tls.key"] == b"KEY-1\n" and os.readlink(out / "..tls.data") == versions(out)[0]
    # a planted "version" holding a link elsewhere and a directory: cleaning never follows the link and
    # leaves a directory it cannot empty
    planted = out / "..tls.v-0123456789abcdef"
    planted.mkdir()
    (planted / "x").symlink_to(outside / "tls.crt")
    (planted / "sub").mkdir()
    write_files(group(out, 2), versioned="tls")
    assert tree(outside) == {"tls.crt": b"untouched"}
    assert planted.exists() and not (planted / "x").exists()
    # a directory where a link goes: refused before anything is written
    for name in ("tls.ca", "..tls.data"):
        target = out / name
        target.unlink()
        target.mkdir()
        before = tree(tmp_path)
        with pytest.raises(OutputRefused, match="is a directory"):
            write_files(group(out, 3), versioned="tls")
        assert tree(tmp_path) == before
        target.rmdir()
        write_files(group(out, 3), versioned="tls")  # repaired on the next write
        assert read(out)["tls.ca"] == b"CA-3\n"


def test_the_cert_formats_switch_together_through_the_claims(tmp_path: pathlib.Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = make_config(tmp_path, resource("tls", "pki", "pki/issue/web", format="cert", file="certs/tls",
                                         params={"common_name": "app.example.com"}),
                      resource("db", "secret", "secret/db", format="txt", file="db"))
    claims = Claims.for_config(cfg)
    assert claims.versioned == {Claims.label("tls"): "tls"}
    together = {"cert": True, "certchain": True, "bundle": True, "txt": False, "json": False}
    for fmt, expected in together.items():
        res = Resource("r", "pki", "pki/issue/web")
        res.format = fmt
        assert switched_together(res) is expected
    tls = cfg.resources[0]
    data = {"certificate": "C1", "private_key": "K1", "issuing_ca": "A1"}
    out = pathlib.Path(cfg.output_dir)
    # dry run: names, sizes and hashes on stdout, never the key; nothing written
    write_files(render(tls, data), dryrun=True, claims=claims, claimant=Claims.label("tls"))
    printed = capsys.readouterr().out
    assert printed.count("dry-run: ") == 3 and "K1" not in printed and "sha256 " in printed
    assert not (out / "certs").exists()
    write_files(render(tls, data), claims=claims, claimant=Claims.label("tls"))
    assert os.readlink(out / "certs" / "tls.key") == "..tls.data/tls.key"
    assert (out / "certs" / "tls.key").read_bytes() == b"K1\n"
    # a configured name starting with '..' would collide with the hidden names: refused at start
    with pytest.raises(SidekickConfigError, match=r"starts with '\.\.'"):
        make_config(tmp_path, resource("evil", "secret", "secret/x", format="json", file="certs/..tls.data"))
