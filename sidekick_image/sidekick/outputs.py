"""The one atomic writer. Every file the sidekick writes goes through `write_files`.

A group of files (a certificate, its key and CA) is swapped together: every temp file is written and
fsynced first, then all are renamed, then the directory is fsynced. Rename order: CA and key files first,
the certificate (and bundles holding it) last, so a reader that reloads when the certificate changes finds
the matching key already in place. A reader never sees a partial file: rename(2) is atomic.
"""

from __future__ import annotations

import contextlib
import os
import sys

_TMP_MARK = ".sidekick-tmp-"


def _rename_last(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".crt") or (name.endswith(".pem") and not name.endswith(("-key.pem", "-ca.pem")))


def _same(path: str, content: bytes, mode: int) -> bool:
    try:
        st = os.stat(path)
        if st.st_size != len(content) or (st.st_mode & 0o7777) != mode:
            return False
        with open(path, "rb") as fh:
            return fh.read() == content
    except OSError:
        return False


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_files(files: list[tuple[str, bytes]], mode: int = 0o600, owner: int | None = None,
                group: int | None = None, dryrun: bool = False) -> list[str]:
    """Atomically write every changed file; returns the paths that changed (unchanged ones are untouched)."""
    changed = [(path, content) for path, content in files if not _same(path, content, mode)]
    if not changed:
        return []
    if dryrun:
        for path, content in changed:
            sys.stdout.write(f"dry-run: {path} (mode {mode:04o}):\n")
            sys.stdout.write(content.decode("utf-8", "replace") + "\n")
        sys.stdout.flush()
        return [path for path, _ in changed]
    temps: list[tuple[str, str]] = []
    try:
        for path, content in changed:
            directory = os.path.dirname(path) or "."
            os.makedirs(directory, mode=0o750, exist_ok=True)
            tmp = os.path.join(directory, f".{os.path.basename(path)}{_TMP_MARK}{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            temps.append((tmp, path))
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
                if owner is not None or group is not None:
                    os.fchown(fd, -1 if owner is None else owner, -1 if group is None else group)
                os.fchmod(fd, mode)  # after chown: chown may clear set-id bits, never widen access
                os.fsync(fd)
            finally:
                os.close(fd)
        temps.sort(key=lambda item: _rename_last(item[1]))
        for tmp, path in temps:
            os.replace(tmp, path)
        for directory in sorted({os.path.dirname(path) or "." for _, path in temps}):
            _fsync_dir(directory)
        temps = []
    finally:
        for tmp, _ in temps:  # a failure before the renames: leave no temp file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return [path for path, _ in changed]


def clean_temp_files(directory: str) -> None:
    """Remove temp files a killed predecessor left behind (they are never the live files)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if _TMP_MARK in name:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, name))
