"""Reading an oci-archive (what `make image` writes) and driving the project's buildah store.

Plain helpers: the tests in this directory check the image from the archive itself (config, layers,
flattened file tree), independently of the build script's own size report.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import pathlib
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "dist" / "sidekick-image.oci.tar"
BUILDAH = ROOT / "scripts" / "image-buildah.sh"


@dataclasses.dataclass
class Layer:
    digest: str
    compressed: int
    uncompressed: int
    members: list[tarfile.TarInfo]


@dataclasses.dataclass
class Image:
    config: dict[str, Any]  # the OCI image config ("config", "rootfs", "history", ...)
    layers: list[Layer]
    files: dict[str, tarfile.TarInfo]  # the flattened root filesystem, whiteouts applied; "usr/bin/x"

    @property
    def uncompressed(self) -> int:
        return sum(layer.uncompressed for layer in self.layers)


def _norm(name: str) -> str:
    return os.path.normpath(name.lstrip("./")).lstrip("/") if name not in ("", ".", "./") else ""


def read_archive(path: pathlib.Path = ARCHIVE) -> Image:
    """Parse an oci-archive: index → manifest → config and layers; flatten the layers in order."""
    with tarfile.open(path) as tar:

        def blob(digest: str) -> bytes:
            f = tar.extractfile("blobs/" + digest.replace(":", "/"))
            if f is None:
                raise ValueError(f"{path}: blob {digest} missing")
            return f.read()

        index_file = tar.extractfile("index.json")
        if index_file is None:
            raise ValueError(f"{path}: no index.json, not an oci-archive")
        index = json.loads(index_file.read())
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layers: list[Layer] = []
        files: dict[str, tarfile.TarInfo] = {}
        for desc in manifest["layers"]:
            data = blob(desc["digest"])
            raw = gzip.decompress(data) if "gzip" in desc["mediaType"] else data
            with tarfile.open(fileobj=io.BytesIO(raw)) as layer_tar:
                members = layer_tar.getmembers()
            layers.append(Layer(desc["digest"], len(data), len(raw), members))
            _apply(files, members)
    return Image(config, layers, files)


def _apply(files: dict[str, tarfile.TarInfo], members: list[tarfile.TarInfo]) -> None:
    """Apply one layer to the flattened tree (OCI whiteouts: .wh.NAME deletes, .wh..wh..opq empties)."""
    for m in members:
        name = _norm(m.name)
        parent, base = os.path.split(name)
        if base == ".wh..wh..opq":
            prefix = f"{parent}/" if parent else ""
            for key in [k for k in files if k.startswith(prefix)]:
                del files[key]
            continue
        if base.startswith(".wh."):
            gone = os.path.join(parent, base[4:])
            for key in [k for k in files if k == gone or k.startswith(gone + "/")]:
                del files[key]
            continue
        files[name] = m


def buildah(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """scripts/image-buildah.sh ARGS: buildah on the project store (vfs, chroot isolation)."""
    proc = subprocess.run(["bash", str(BUILDAH), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@dataclasses.dataclass(frozen=True)
class Entry:
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    link: str


def snapshot(root: pathlib.Path, skip: tuple[str, ...] = ()) -> dict[str, Entry]:
    """Every path under `root` (lstat, no symlinks followed) except the `skip` subtrees ("etc/hosts")."""
    out: dict[str, Entry] = {}

    def walk(directory: pathlib.Path) -> Iterator[pathlib.Path]:
        for entry in os.scandir(directory):
            p = pathlib.Path(entry.path)
            yield p
            if entry.is_dir(follow_symlinks=False):
                yield from walk(p)

    for p in walk(root):
        rel = p.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        st = p.lstat()
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
        out[rel] = Entry(st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, link)
    return out
