"""The one atomic writer. Every file the sidekick writes goes through `write_files`, and every one is
checked there, once, before anything is written.

Confinement. A name is placed under a root directory (the output directory) and walked one segment at
a time through directory file descriptors opened with O_NOFOLLOW, so neither `..` nor a symlink planted
in the volume can take a write elsewhere; the leaf is created with O_EXCL|O_NOFOLLOW and renamed within
its own directory fd. An absolute `file` must lie inside the output directory too (vault-sidekick joined
every name onto it): one outside is a configuration error at start. With `claims`, a resource may only write
the names the configuration gives it, plus, for formats that name files after keys (`txt`: FILE.KEY),
its prefix followed by ONE safe path segment; a name another resource (or the state file) owns is
refused. Anything refused raises OutputRefused before the first byte is written.

Atomicity. A file is written to a temp file, fsynced and renamed over its name (rename(2) is atomic, so a
reader never sees a partial file); the files of one write are all written and fsynced before the first
rename, so a failure leaves the old ones. A group that must switch as one (a certificate, its key and
chain: `versioned`) goes through swap.py instead: a new version directory behind one symlink swap, so a
reader never sees a new key beside an old certificate.
"""

from __future__ import annotations

import errno
import os
import re
import sys

from .errors import SidekickConfigError, VaultRequestError, suppress

TYPE_CHECKING = False  # typing costs ~0.7 MiB RSS at runtime; mypy treats this name as true
if TYPE_CHECKING:
    from .config import Config

_TMP_MARK = ".sidekick-tmp-"
NAME_MAX = 255          # bytes in one file name (Linux NAME_MAX)
MAX_FILES = 256         # files in one group: a secret with 100 000 keys in txt format is refused
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_UNSAFE_SEGMENT = re.compile("[\x00-\x1f\x7f/\\\\]")  # control characters, separators (also `\`)


class OutputRefused(VaultRequestError):
    """A secret whose files would leave their directory, take another resource's file, or could not be
    read back faithfully in its format. Vault answered (status 200); its content is unusable, so the
    resource fails with this message and nothing of it is written. The message never holds a value."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 200)


def shown(name: str) -> str:
    """A name from Vault as an error may show it: repr (control characters visible), bounded."""
    text = repr(name)
    return text if len(text) <= 80 else f"{text[:60]}...' ({len(name)} characters)"


def _encoded_len(name: str) -> int:
    try:
        return len(name.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: not a name any file system call can take faithfully
        return NAME_MAX + 1


def check_segment(segment: str, what: str) -> None:
    """A name taken from a secret (a key) that becomes (part of) one file name: one plain segment."""
    why = ""
    if not segment:
        why = "it is empty"
    elif segment.startswith("."):
        why = "it starts with '.' (hidden files, '.' and '..' are never written)"
    elif _UNSAFE_SEGMENT.search(segment):
        why = "it holds '/', '\\', NUL or another control character"
    elif _encoded_len(segment) > NAME_MAX:
        why = f"it is longer than {NAME_MAX} bytes or not valid unicode"
    if why:
        raise OutputRefused(f"{what} {shown(segment)} cannot be a file name: {why}")


class Claims:
    """Which configured owner (a resource, the state file) writes which file. Built once at start from
    the configuration: two owners of one file are a SidekickConfigError (exit 2) naming both. At run time
    `check` refuses a name its owner was not given, or one another owner holds."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._names: dict[str, set[str]] = {}     # owner → the names (as rendered) it may write
        self._prefixes: dict[str, list[str]] = {}  # owner → prefixes followed by one key segment
        self._owner: dict[str, str] = {}          # normalised full path → owner
        self.versioned: dict[str, str] = {}       # owner → stem of its group switched together (swap.py)

    @classmethod
    def for_config(cls, cfg: Config) -> Claims:
        from .formats import file_names  # formats imports this module: resolved at call time

        claims = cls(cfg.output_dir)
        claims.add("the state file", [cfg.state_path], confined=False)  # no secrets: may live elsewhere
        from .formats import switched_together

        for res in cfg.resources:
            names, prefix = file_names(res)
            claims.add(cls.label(res.name), names, prefix)
            if switched_together(res):
                claims.versioned[cls.label(res.name)] = os.path.basename(res.filename)
        return claims

    @staticmethod
    def label(resource: str) -> str:
        """How a resource is named as an owner (in errors and in `check`)."""
        return f"resource {resource!r}"

    def full(self, name: str) -> str:
        return os.path.normpath(os.path.join(self.root, name))

    def add(self, owner: str, names: list[str], prefix: str = "", confined: bool = True) -> None:
        for name in names:
            if confined:  # the same placement the writer does, so a name it would refuse stops us at start
                try:
                    _place(name, self.root)
                except OutputRefused as exc:
                    raise SidekickConfigError(f"{owner}: {exc}; write it inside {self.root}") from None
                if os.path.basename(name).startswith(".."):  # swap.py's version directories and links
                    raise SidekickConfigError(f"{owner}: file {shown(name)} starts with '..', which the "
                                              "sidekick keeps for its own versioned directories; rename it")
            path = self.full(name)
            other = self._owner.get(path)
            if other is not None and other != owner:
                raise SidekickConfigError(f"{other} and {owner} both write {path}; give one of them another "
                                          "file")
            self._owner[path] = owner
        self._names.setdefault(owner, set()).update(names)
        if prefix:
            self._prefixes.setdefault(owner, []).append(prefix)

    def check(self, owner: str, names: list[str]) -> None:
        fresh: dict[str, str] = {}
        for name in names:
            if name not in self._names.get(owner, ()):
                prefix = next((p for p in self._prefixes.get(owner, ()) if name.startswith(p)), None)
                if prefix is None:
                    raise OutputRefused(f"{owner} may not write {shown(name)}")
                check_segment(name[len(prefix):], f"{owner}: key")  # FILE.KEY's length: by _place
            path = self.full(name)
            other = self._owner.get(path)
            if other is not None and other != owner:
                raise OutputRefused(f"{owner}: {path} belongs to {other}; nothing was written")
            fresh[path] = owner
        self._owner.update(fresh)  # a key-named file, once written, is that resource's from now on


def _place(name: str, root: str | None) -> tuple[str, list[str]]:
    """(directory to start from, segments below it) for one name; refuses what would leave it."""
    if "\x00" in name:
        raise OutputRefused(f"file {shown(name)} holds a NUL byte")
    if root is not None:
        rel = os.path.normpath(name)  # lexical: `a/../b` is `b`; what is left must not start with ..
        if os.path.isabs(rel):
            # An absolute name must still lie inside the output directory: the volume the app shares
            # with the sidekick is the one place it may write (vault-sidekick joined every name onto it).
            rel = os.path.relpath(rel, os.path.normpath(root))
        if rel in (".", "..") or rel.startswith("../"):
            raise OutputRefused(f"file {shown(name)} leaves the output directory {root}")
        parts = rel.split("/")
    else:
        full = os.path.normpath(name)
        root, parts = os.path.dirname(full) or ".", [os.path.basename(full)]
    for part in parts:
        if part in ("", ".", "..") or _encoded_len(part) > NAME_MAX:
            raise OutputRefused(f"file {shown(name)}: {shown(part)} is not a usable file name")
    return root, parts


def _open_dir(base: str, parts: list[str], create: bool) -> int | None:
    """A directory fd for base/parts..., each segment below `base` opened without following a symlink.
    None when a directory is missing and `create` is false (dry run)."""
    if create:
        os.makedirs(base, mode=0o750, exist_ok=True)
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create:
            raise
        return None
    try:
        for part in parts:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, 0o750, dir_fd=fd)
            try:
                sub = os.open(part, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if create:
                    raise
                os.close(fd)
                return None
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink (O_NOFOLLOW) or a file
                    raise OutputRefused(f"{os.path.join(base, *parts)}: {part!r} is a symlink or not a "
                                        "directory; refusing to write through it") from None
                raise
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def _rename_last(path: str) -> bool:
    name = os.path.basename(path)
    return name.endswith(".crt") or (name.endswith(".pem") and not name.endswith(("-key.pem", "-ca.pem")))


def _same(dir_fd: int, leaf: str, content: bytes, mode: int, shown_path: str) -> bool:
    try:
        st = os.stat(leaf, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    if (st.st_mode & 0o170000) == 0o040000:
        raise OutputRefused(f"{shown_path} is a directory; refusing to replace it")
    if (st.st_mode & 0o170000) != 0o100000 or st.st_size != len(content) or (st.st_mode & 0o7777) != mode:
        return False  # a symlink or anything else is replaced by rename, never followed
    try:
        fd = os.open(leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(len(content) + 1) == content
    finally:
        os.close(fd)


def dry_run_line(path: str, content: bytes, mode: int) -> str:
    """What -dryrun prints for a file: never its content (stdout ends up in container logs), only its
    size and the first 12 hex digits of its SHA-256, enough to compare with `sha256sum` of a real run."""
    import hashlib  # here: its OpenSSL binding costs RSS, and only a dry run needs it

    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"dry-run: {path} (mode {mode:04o}, {len(content)} bytes, sha256 {digest})\n"


def fill(fd: int, content: bytes, mode: int, owner: int | None, group: int | None) -> None:
    """Write all of `content` to a fresh file, give it its owner and mode, and fsync it (every file the
    sidekick writes, plain or versioned, is filled here)."""
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]
    if owner is not None or group is not None:
        os.fchown(fd, -1 if owner is None else owner, -1 if group is None else group)
    os.fchmod(fd, mode)  # after chown: chown may clear set-id bits, never widen access
    os.fsync(fd)


def write_files(files: list[tuple[str, bytes]], mode: int = 0o600, owner: int | None = None,
                group: int | None = None, dryrun: bool = False, *, root: str | None = None,
                claims: Claims | None = None, claimant: str = "", versioned: str = "") -> list[str]:
    """Atomically write every changed file; returns the paths that changed (unchanged ones are untouched).

    `root`: relative names go below it and may not leave it (without a root each absolute path is
    confined to its own directory). `claims`/`claimant`: the names `claimant` may write (its root is the
    claims' root). `versioned`: the files are one group, switched together (swap.py) under hidden names
    made from this stem (the claims say it for a claimant). Raises OutputRefused, before writing
    anything, for any file that is not allowed."""
    if len(files) > MAX_FILES:
        raise OutputRefused(f"{claimant or 'a write'} would write {len(files)} files (at most {MAX_FILES})")
    if claims is not None:
        claims.check(claimant, [name for name, _ in files])
        root = claims.root
        versioned = versioned or claims.versioned.get(claimant, "")
    placed = [(*_place(name, root), content) for name, content in files]
    if versioned and placed:
        return _write_group(placed, mode, owner, group, dryrun, versioned)
    fds: dict[tuple[str, tuple[str, ...]], int | None] = {}
    temps: list[tuple[int, str, str, str]] = []  # (dir fd, temp name, leaf, shown path)
    changed: list[tuple[int | None, str, str, bytes]] = []
    try:
        for base, parts, content in placed:
            key = (base, tuple(parts[:-1]))
            if key not in fds:
                fds[key] = _open_dir(base, parts[:-1], create=not dryrun)
            fd, shown_path = fds[key], os.path.join(base, *parts)
            if fd is None or not _same(fd, parts[-1], content, mode, shown_path):
                changed.append((fd, parts[-1], shown_path, content))
        if dryrun:
            sys.stdout.write("".join(dry_run_line(path, content, mode) for _, _, path, content in changed))
            sys.stdout.flush()
            return [path for _, _, path, _ in changed]
        for i, (dir_fd, leaf, path, content) in enumerate(changed):
            assert dir_fd is not None
            tmp = f"{_TMP_MARK}{os.getpid()}-{i}"
            with suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)  # a predecessor with our pid (pid 1 in a container)
            # O_EXCL: never write into a file someone planted (a hard link to elsewhere, a symlink)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dir_fd)
            temps.append((dir_fd, tmp, leaf, path))
            try:
                fill(fd, content, mode, owner, group)
            finally:
                os.close(fd)
        temps.sort(key=lambda item: _rename_last(item[3]))
        for dir_fd, tmp, leaf, _ in temps:
            os.replace(tmp, leaf, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        for dir_fd in {dir_fd for dir_fd, _, _, _ in temps}:
            os.fsync(dir_fd)
        temps = []
    finally:
        for dir_fd, tmp, _, _ in temps:  # a failure before the renames: leave no temp file behind
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
        for open_fd in fds.values():
            if open_fd is not None:
                os.close(open_fd)
    return [path for _, _, path, _ in changed]


def _write_group(placed: list[tuple[str, list[str], bytes]], mode: int, owner: int | None, group: int | None,
                 dryrun: bool, stem: str) -> list[str]:
    """One group (all in one directory) through swap.py: every check first, nothing written on a refusal."""
    from . import swap

    base, parts = placed[0][0], placed[0][1][:-1]
    if any(b != base or p[:-1] != parts for b, p, _ in placed):
        raise OutputRefused(f"files of the group {shown(stem)} are not in one directory")
    shown_dir = os.path.join(base, *parts)
    items = [(p[-1], content) for _, p, content in placed]
    fd = _open_dir(base, parts, create=not dryrun)
    try:
        swap.check(fd, stem, [leaf for leaf, _ in items], shown_dir)
        new_content, changed = swap.changes(fd, stem, items, mode)
        if dryrun:
            sys.stdout.write("".join(dry_run_line(os.path.join(shown_dir, leaf), content, mode)
                                     for leaf, content in items if leaf in changed))
            sys.stdout.flush()
        elif changed:
            assert fd is not None
            swap.switch(fd, stem, items, mode, owner, group, new_content)
    finally:
        if fd is not None:
            os.close(fd)
    return [os.path.join(shown_dir, leaf) for leaf in changed]


def clean_temp_files(directory: str) -> None:
    """Remove temp files a killed predecessor left behind (they are never the live files)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(".") and _TMP_MARK in name:
            with suppress(OSError):
                os.unlink(os.path.join(directory, name))
