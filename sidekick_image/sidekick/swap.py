"""A group of files (a certificate, its key and chain) that switches to a new version in ONE atomic step.

Renaming the files one after the other leaves moments where a reader finds the new key beside the old
certificate. So a group lives the way kubelet lays out a Secret volume (pkg/volume/util/atomic_writer.go
in kubernetes/kubernetes, followed here, not copied):

    tls.crt            -> ..tls.data/tls.crt        stable symlinks: the names the app opens
    tls.key            -> ..tls.data/tls.key
    ..tls.data         -> ..tls.v-3f9a0c1e5b7d2a64  the ONE symlink that is swapped
    ..tls.v-3f9a0c1e5b7d2a64/{tls.crt,tls.key,...}  a complete, fsynced version directory

A new version is written completely into a fresh directory, then `..tls.data` is replaced by rename(2),
so every name the app opens switches at the same instant. The version before stays until the next switch:
a reader whose open() had resolved `..tls.data` just before the swap still finds its files (kubelet removes
it at once, and such a reader gets ENOENT); every older version is removed.

Confinement is the writer's (outputs.py): everything happens through the output directory's fd; the
version directory is created here (mkdir fails on anything already there) and opened with O_NOFOLLOW, its
files with O_EXCL|O_NOFOLLOW; links are read with readlink and replaced by rename, never followed; a
directory where a link should be is refused before anything is written. Names starting with `..` are the
sidekick's own (a configured file may not start with `..`; a key never starts with `.`).
"""

from __future__ import annotations

import os
import re

from .errors import suppress
from .outputs import _DIR, _TMP_MARK, NAME_MAX, OutputRefused, _rename_last, _same, fill

_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_S_IFMT, _S_IFDIR, _S_IFLNK = 0o170000, 0o040000, 0o120000


def data_link(stem: str) -> str:
    return f"..{stem}.data"


def _version_pattern(stem: str) -> re.Pattern[str]:
    # exactly ..STEM.v-<16 hex>: another group's names (..tls.v1.data, ..tls.v1.v-...) never match
    return re.compile(re.escape(f"..{stem}.v-") + "[0-9a-f]{16}")


def _kind(dir_fd: int, name: str) -> int:
    """The file type of NAME (not followed), 0 if it does not exist."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode & _S_IFMT
    except FileNotFoundError:
        return 0


def _link_is(dir_fd: int, name: str, target: str) -> bool:
    try:
        return os.readlink(name, dir_fd=dir_fd) == target
    except OSError:  # missing, or not a symlink
        return False


def _current(dir_fd: int, stem: str) -> int | None:
    """An fd of the version directory `..STEM.data` names, if it names one of ours (never followed)."""
    try:
        target = os.readlink(data_link(stem), dir_fd=dir_fd)
    except OSError:
        return None
    if not _version_pattern(stem).fullmatch(target):
        return None  # not a link we made: it is replaced, and what it pointed at is never read
    try:
        return os.open(target, _DIR, dir_fd=dir_fd)
    except OSError:
        return None


def check(dir_fd: int | None, stem: str, leaves: list[str], shown_dir: str) -> None:
    """Refuse, before anything is written, a group that cannot be switched: hidden names too long, or a
    directory where a link must go."""
    if len(f"..{stem}.v-") + 16 > NAME_MAX:
        raise OutputRefused(f"file {stem!r} in {shown_dir}: the name is too long for a versioned group")
    if dir_fd is None:
        return
    for name in [data_link(stem), *leaves]:
        if _kind(dir_fd, name) == _S_IFDIR:
            raise OutputRefused(f"{os.path.join(shown_dir, name)} is a directory; refusing to replace it")


def changes(dir_fd: int | None, stem: str, items: list[tuple[str, bytes]], mode: int
            ) -> tuple[bool, list[str]]:
    """(content changed, leaves the app would see change): a leaf changes when its content or mode in
    the current version differs, or when its visible name is not our link."""
    if dir_fd is None:
        return True, [leaf for leaf, _ in items]
    current = _current(dir_fd, stem)
    try:
        stale = [leaf for leaf, content in items
                 if current is None or not _same(current, leaf, content, mode, leaf)]
    finally:
        if current is not None:
            os.close(current)
    unlinked = [leaf for leaf, _ in items if not _link_is(dir_fd, leaf, f"{data_link(stem)}/{leaf}")]
    return bool(stale), [leaf for leaf, _ in items if leaf in stale or leaf in unlinked]


def _dir_mode(mode: int) -> int:
    """Whoever may read a file may traverse its version directory; nobody else."""
    return 0o700 | (0o050 if mode & 0o070 else 0) | (0o005 if mode & 0o007 else 0)


def _new_version(dir_fd: int, stem: str, mode: int) -> tuple[str, int]:
    for _ in range(8):
        name = f"..{stem}.v-{os.urandom(8).hex()}"
        try:
            os.mkdir(name, 0o700, dir_fd=dir_fd)  # fails on anything already there, a planted link too
        except FileExistsError:
            continue
        return name, os.open(name, _DIR, dir_fd=dir_fd)
    raise OutputRefused(f"could not create a version directory for {stem!r}")


def _remove_version(dir_fd: int, name: str) -> None:
    """Remove one of our version directories: its plain entries, then itself. Anything else planted in it
    (a subdirectory) makes rmdir fail, and the directory is left alone."""
    with suppress(OSError):
        fd = os.open(name, _DIR, dir_fd=dir_fd)
        try:
            for entry in os.listdir(fd):
                with suppress(OSError):
                    os.unlink(entry, dir_fd=fd)
        finally:
            os.close(fd)
        os.rmdir(name, dir_fd=dir_fd)


def _swap_link(dir_fd: int, name: str, target: str) -> None:
    tmp = f"{name}{_TMP_MARK}{os.getpid()}"
    with suppress(FileNotFoundError):
        os.unlink(tmp, dir_fd=dir_fd)  # a predecessor's, with our pid
    os.symlink(target, tmp, dir_fd=dir_fd)
    try:
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # replaces a file or link, never follows
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def switch(dir_fd: int, stem: str, items: list[tuple[str, bytes]], mode: int, owner: int | None,
           group: int | None, new_content: bool) -> None:
    """Write ITEMS (leaf, content) as a new version and switch to it with one rename; then make sure
    each visible name is our link, and remove every version of this group but this one and the one before."""
    link = data_link(stem)
    pattern = _version_pattern(stem)
    previous = ""
    with suppress(OSError):
        previous = os.readlink(link, dir_fd=dir_fd)  # kept below only if it is one of ours
    if new_content:
        version, vfd = _new_version(dir_fd, stem, mode)
        try:
            try:
                for leaf, content in items:
                    fd = os.open(leaf, _FILE, 0o600, dir_fd=vfd)
                    try:
                        fill(fd, content, mode, owner, group)
                    finally:
                        os.close(fd)
                if owner is not None or group is not None:
                    os.fchown(vfd, -1 if owner is None else owner, -1 if group is None else group)
                os.fchmod(vfd, _dir_mode(mode))
                os.fsync(vfd)
            finally:
                os.close(vfd)
            _swap_link(dir_fd, link, version)  # the switch: every visible name now shows the new version
        except BaseException:
            _remove_version(dir_fd, version)
            raise
    # Visible names: created once; later versions never touch them. The certificate's last, so a reader
    # that reloads when it appears finds its key in place (also while plain files become links).
    for leaf in sorted((leaf for leaf, _ in items), key=_rename_last):
        if not _link_is(dir_fd, leaf, f"{link}/{leaf}"):
            _swap_link(dir_fd, leaf, f"{link}/{leaf}")
    os.fsync(dir_fd)
    keep = {os.readlink(link, dir_fd=dir_fd), previous}
    for name in os.listdir(dir_fd):
        if name not in keep and pattern.fullmatch(name):
            _remove_version(dir_fd, name)  # older versions, and any a killed predecessor left

