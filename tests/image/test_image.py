"""The sidekick OCI image from `make image` (issue 7): built without a daemon, small, hardened, and run.

The session fixture runs scripts/build-image.sh (what `make image` runs; cached, so quick when the image is
current). Every check reads dist/sidekick-image.oci.tar itself; the smoke test imports that archive into
buildah, runs the image's ENTRYPOINT with chroot isolation on the host network against a real Vault dev
server with the image's directories mounted read-only, and checks the secret file it writes and that it
wrote nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import secrets
import stat
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.image.oci import ARCHIVE, ROOT, Image, buildah, read_archive, snapshot
from tests.support.vault import VaultDevServer

pytestmark = [pytest.mark.engines, pytest.mark.slow, pytest.mark.timeout(2400)]

# Issue 7's target, in bytes (the stricter reading of "40 MB": 10^6, not 2^20).
UNCOMPRESSED_BUDGET = 40_000_000
NONROOT = 65532
REQUIRED_LABELS = ("title", "description", "source", "version", "revision", "licenses")
SHELLS = ("sh", "bash", "dash", "ash", "busybox", "zsh")


def _pyproject_version() -> str:
    text = (ROOT / "sidekick_image" / "pyproject.toml").read_text()
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    assert found, "sidekick_image/pyproject.toml has no version"
    return found.group(1)


@pytest.fixture(scope="session")
def image() -> Image:
    """Build (or reuse) the image exactly as `make image` does, then parse the archive."""
    if os.geteuid() != 0:
        pytest.fail("the image tests need root: buildah's vfs driver, chroot isolation and the read-only "
                    "bind mounts of the smoke test do (CI runs as root)", pytrace=False)
    proc = subprocess.run(["bash", "scripts/build-image.sh"], cwd=ROOT, capture_output=True, text=True,
                          timeout=2400, check=False)
    if proc.returncode != 0:
        pytest.fail(f"scripts/build-image.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}",
                    pytrace=False)
    assert ARCHIVE.is_file(), f"make image did not write {ARCHIVE}"
    return read_archive(ARCHIVE)


def test_runs_as_numeric_non_root_user(image: Image) -> None:
    user = image.config["config"].get("User", "")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"image user {user!r} must be a numeric non-root uid"
    assert gid.isdigit() and int(gid) != 0, f"image group {user!r} must be a numeric non-root gid"
    assert int(uid) == NONROOT


def test_entrypoint_is_exec_form_python_without_shell(image: Image) -> None:
    entrypoint = image.config["config"].get("Entrypoint") or []
    assert entrypoint == ["/usr/bin/python3", "-S", "/opt/sidekick/bin/sidekick"]
    for path in (p for p in entrypoint if p.startswith("/")):
        info = image.files.get(path.lstrip("/"))
        assert info is not None, f"entrypoint path {path} is not in the image"
    python = image.files["usr/bin/python3"]
    assert python.issym() and python.linkname == "python3.11"
    assert image.files["usr/bin/python3.11"].mode & 0o111


def test_oci_labels(image: Image) -> None:
    labels = image.config["config"].get("Labels") or {}
    for name in REQUIRED_LABELS:
        key = f"org.opencontainers.image.{name}"
        assert labels.get(key), f"label {key} missing"
    assert labels["org.opencontainers.image.version"] == _pyproject_version()
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()
    if head:
        # The image may be from an earlier commit if its inputs did not change since; it is a commit id.
        assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", labels["org.opencontainers.image.revision"])


def test_no_shell_no_package_manager(image: Image) -> None:
    present = set(image.files)
    for directory in ("bin", "usr/bin", "sbin", "usr/sbin", "usr/local/bin"):
        for shell in SHELLS:
            assert f"{directory}/{shell}" not in present, f"/{directory}/{shell} is in the image"
    executables = sorted(
        name for name, info in image.files.items()
        if info.isfile() and info.mode & 0o111 and "/bin/" in f"/{name}"
        and not name.startswith("opt/sidekick/")
    )
    assert executables == ["usr/bin/python3.11"], f"unexpected executables: {executables}"
    for tool in ("usr/bin/apt", "usr/bin/dpkg", "usr/bin/pip", "usr/bin/pip3"):
        assert tool not in present


def test_files_owned_by_root_and_not_writable_by_the_runtime_user(image: Image) -> None:
    offenders = []
    for name, info in image.files.items():
        if info.issym():
            continue
        if name == "tmp":
            assert info.mode & 0o7777 == 0o1777
            continue
        if info.uid != 0 or info.mode & 0o002:
            offenders.append(f"/{name} uid={info.uid} mode={info.mode:04o}")
    assert not offenders, "files the runtime user could change:\n" + "\n".join(offenders[:20])


def test_bytecode_precompiled_so_nothing_is_written_at_runtime(image: Image) -> None:
    env = dict(e.split("=", 1) for e in image.config["config"].get("Env") or [])
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    names = set(image.files)
    roots = ("opt/sidekick/", "usr/lib/python3.11/")
    sources = [n for n in names if n.endswith(".py") and n.startswith(roots)]
    assert len(sources) > 300, "the stdlib and the sidekick should be in the image"
    missing = []
    for src in sources:
        directory, base = os.path.split(src)
        pyc = f"{directory}/__pycache__/{base[:-3]}.cpython-311.pyc"
        if pyc not in names:
            missing.append(src)
    assert not missing, f"{len(missing)} modules without .pyc, e.g. {missing[:5]}"


def test_uncompressed_size_within_budget(image: Image) -> None:
    total = image.uncompressed
    assert total <= UNCOMPRESSED_BUDGET, (
        f"layers uncompress to {total / 1e6:.1f} MB, over the {UNCOMPRESSED_BUDGET / 1e6:.0f} MB budget: "
        + ", ".join(f"{x.uncompressed / 1e6:.1f} MB" for x in image.layers)
    )
    # And the sidekick's own layers are a small part of it: the base is the interpreter and its libraries.
    assert image.layers[0].uncompressed > total * 0.6
    assert ARCHIVE.stat().st_size < total


# --- smoke test: the image's entrypoint against a real Vault ------------------------------------------


@pytest.fixture
def container(image: Image) -> Iterator[tuple[str, pathlib.Path]]:
    """A buildah working container from the archive (not from the build cache): (id, its rootfs)."""
    ctr = buildah("from", "--quiet", f"oci-archive:{ARCHIVE}").stdout.strip().splitlines()[-1]
    try:
        mnt = pathlib.Path(buildah("mount", ctr).stdout.strip())
        yield ctr, mnt
    finally:
        buildah("umount", ctr, check=False)
        buildah("rm", ctr, check=False)


def _run(image: Image, ctr: str, args: list[str], volumes: list[str]) -> subprocess.CompletedProcess[str]:
    """`buildah run` the image's ENTRYPOINT with `args`: chroot isolation, host network, as the image user."""
    entrypoint = image.config["config"]["Entrypoint"]
    vol_flags = [flag for v in volumes for flag in ("--volume", v)]
    return buildah("run", "--isolation", "chroot", "--network", "host", *vol_flags, ctr, "--",
                   *entrypoint, *args, check=False, timeout=300)


# Paths buildah itself binds or creates for a run; everything else must be untouched.
RUNTIME_MOUNTS = ("proc", "sys", "dev", "run", "etc/hosts", "etc/resolv.conf", "etc/hostname",
                  "etc/secrets", "etc/vault-sidekick")


@contextlib.contextmanager
def read_only_rootfs(rootfs: pathlib.Path, mountpoints: tuple[str, ...]) -> Iterator[None]:
    """Make the container's root filesystem read-only for a `buildah run`, as readOnlyRootFilesystem does.

    buildah run has no --read-only, and it must itself write /run/.containerenv, so every other top-level
    directory of the image is bind-mounted read-only onto itself (/run is root-owned: the non-root user
    cannot write it either). Volume mount points are created first, as a container runtime does."""
    for mp in mountpoints:
        (rootfs / mp).mkdir(parents=True, exist_ok=True)
    mounted: list[pathlib.Path] = []
    try:
        for top in sorted(rootfs.iterdir()):
            if top.name in ("run", "proc", "sys", "dev") or top.is_symlink() or not top.is_dir():
                continue
            subprocess.run(["mount", "--bind", str(top), str(top)], check=True, capture_output=True)
            mounted.append(top)
            subprocess.run(["mount", "-o", "remount,bind,ro", str(top)], check=True, capture_output=True)
        yield
    finally:
        for top in reversed(mounted):
            subprocess.run(["umount", str(top)], check=False, capture_output=True)


def test_every_pyc_is_valid_whatever_the_mtimes(container: tuple[str, pathlib.Path]) -> None:
    """A timestamp-based .pyc whose source's mtime changed after it was written (the base clamps mtimes) is
    ignored at import: the module is compiled at every start, ~2.3 MiB RSS more for the stdlib modules the
    sidekick imports. Every .pyc must be hash-based, and unchecked (a read-only rootfs, no source check)."""
    _, rootfs = container
    stale = []
    for top in ("usr/lib/python3.11", "opt/sidekick"):
        for pyc in (rootfs / top).rglob("__pycache__/*.pyc"):
            flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
            if flags != 0b01:  # bit 0: hash-based; bit 1: check the source (not wanted)
                stale.append(str(pyc.relative_to(rootfs)))
    assert not stale, f"{len(stale)} .pyc not unchecked-hash, e.g. {sorted(stale)[:5]}"


def test_smoke_one_shot_writes_a_kv_secret(
    image: Image, container: tuple[str, pathlib.Path], vault_dev: VaultDevServer,
    vault_path: Callable[[str], str], tmp_path: pathlib.Path,
) -> None:
    ctr, rootfs = container
    mount, policy = vault_path("kv"), vault_path("app")
    vault_dev.request("POST", f"sys/mounts/{mount}", {"type": "kv", "options": {"version": "2"}})
    secret = {"username": "app", "password": secrets.token_urlsafe(18)}
    vault_dev.request("POST", f"{mount}/data/app", {"data": secret})
    vault_dev.request("PUT", f"sys/policies/acl/{policy}",
                      {"policy": f'path "{mount}/data/app" {{ capabilities = ["read"] }}'})
    token = vault_dev.request("POST", "auth/token/create",
                              {"policies": [policy], "ttl": "10m", "no_default_policy": False})
    client_token = token["auth"]["client_token"]

    # The pod layout: credentials mounted read-only, an output volume the non-root user may write.
    login_dir, out_dir = tmp_path / "login", tmp_path / "secrets"
    login_dir.mkdir()
    out_dir.mkdir()
    login = login_dir / "login"
    login.write_text(json.dumps({"method": "token", "token": client_token}))
    os.chmod(login, 0o400)
    os.chown(login, NONROOT, NONROOT)
    os.chmod(login_dir, 0o755)
    os.chown(out_dir, NONROOT, NONROOT)
    os.chmod(out_dir, 0o750)

    with read_only_rootfs(rootfs, ("etc/secrets", "etc/vault-sidekick")):
        before = snapshot(rootfs, skip=RUNTIME_MOUNTS)
        proc = _run(image, ctr, [
            f"-vault={vault_dev.addr}", "-auth=/etc/vault-sidekick/login", "-output=/etc/secrets",
            "-one-shot", f"-cn=secret:{mount}/data/app:file=app.json,fmt=json,mode=0640",
        ], [f"{login_dir}:/etc/vault-sidekick:ro", f"{out_dir}:/etc/secrets"])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"sidekick in the image exited {proc.returncode}:\n{output[-3000:]}"
    assert secret["password"] not in output and client_token not in output, "a secret reached the logs"

    written = out_dir / "app.json"
    assert json.loads(written.read_text()) == secret
    st = written.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == NONROOT, "the file must be written by the image's non-root user"
    leftovers = [p.name for p in out_dir.iterdir() if "tmp" in p.name]
    assert not leftovers, f"temporary files left in the output dir: {leftovers}"

    # And beyond the read-only mounts (/run): the run changed nothing in the image's rootfs (file tree,
    # modes, owners, sizes and mtimes compared).
    after = snapshot(rootfs, skip=RUNTIME_MOUNTS)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the sidekick wrote to the image's root filesystem: {changed[:20]}"


def test_bad_configuration_exits_2_with_one_line(
    image: Image, container: tuple[str, pathlib.Path],
) -> None:
    ctr, _ = container
    proc = _run(image, ctr, ["-vault=http://127.0.0.1:1", "-one-shot", "-cn=nosuchtype:kv/data/x"], [])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # buildah adds its own lines about the exit status after the container's output.
    lines = [line for line in proc.stderr.splitlines()
             if line.strip() and not line.startswith(("subprocess exited", "Error: exit status"))]
    assert len(lines) == 1 and "configuration error" in lines[0] and "nosuchtype" in lines[0], lines
    assert "Traceback" not in proc.stderr
