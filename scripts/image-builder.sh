#!/usr/bin/env bash
# Build the LOCAL builder image for the Dockerfile's first stage, with no registry: a minimal Debian
# (debootstrap --variant=minbase) with python3 and pip, the same Python 3.11 as the runtime base, plus the
# wheels of the requirements given as arguments (the image's pinned extras and the package's build backend,
# e.g. "Jinja2==3.1.6 PyYAML==6.0.2 setuptools>=69") in
# /wheels with PIP_NO_INDEX=1/PIP_FIND_LINKS=/wheels, so the image build itself needs no network: the
# wheels are fetched here by the host's pip (and its trust settings), never inside a build container.
# Only the builder stage runs in it; nothing of it reaches the final image.
#
# Cached in two images: the debootstrap rootfs (tag: hash of this script and the suite; a few minutes to
# build) and the wheels layer on top of it (tag: that plus the pins). Downloaded .debs and wheels are kept
# for the next cold build. Prints the image reference on stdout.
set -euo pipefail
# shellcheck source=scripts/image-common.sh
source "$(dirname "$0")/image-common.sh"

INCLUDE="python3-minimal,python3-pip,python3-setuptools,python3-wheel"

ensure_tools buildah=buildah debootstrap=debootstrap
pins="$*"
# Bump OS_RECIPE when the debootstrap part below changes: the OS image is keyed on it, the suite and the
# package list only, so editing the wheels part never re-runs debootstrap.
OS_RECIPE=1
key="$(echo "$OS_RECIPE $DEBIAN_SUITE $INCLUDE" | short_hash)"
os_ref="localhost/vaultconf/python-builder-os:$key"
ref="localhost/vaultconf/python-builder:$key-$(echo "$pins" | short_hash)"
if have_image "$ref"; then
  log "builder $ref cached"
  echo "$ref"
  exit 0
fi

# The wheels layer: pip download on the host, for CPython 3.11 on x86_64 glibc, binary only.
add_wheels() {
  local wheels="$IMAGE_CACHE/wheels/$(echo "$pins" | short_hash)" py="$IMAGE_ROOT/.venv/bin/python"
  [ -x "$py" ] || py=python3
  if [ -n "${pins// /}" ] && [ ! -f "$wheels/.complete" ]; then
    log "downloading wheels: $pins"
    rm -rf "$wheels" && mkdir -p "$wheels"
    # shellcheck disable=SC2086  # pins is a word list
    "$py" -m pip download -q --disable-pip-version-check --only-binary=:all: --no-deps \
      --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$wheels" $pins \
      || die "pip download $pins failed"
    touch "$wheels/.complete"
  fi
  ctr="$(bh from --pull=never "$os_ref")"
  mkdir -p "$wheels"
  bh copy "$ctr" "$wheels" /wheels >/dev/null
  bh config --env PIP_NO_INDEX=1 --env PIP_FIND_LINKS=/wheels "$ctr"
  bh commit -q --rm "$ctr" "$ref" >/dev/null
  ctr=""
  log "builder $ref built"
  echo "$ref"
}

if have_image "$os_ref"; then
  log "builder OS $os_ref cached"
  ctr=""
  trap '[ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true' EXIT
  add_wheels
  exit 0
fi

log "building builder OS $os_ref: debootstrap $DEBIAN_SUITE from $DEBIAN_MIRROR (a few minutes, once)"
mkdir -p "$IMAGE_CACHE/debootstrap" "$IMAGE_STATE"
stage="$(mktemp -d "$IMAGE_STATE/builder-rootfs.XXXXXX")"
ctr=""
cleanup() {
  [ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true
  # debootstrap may leave /proc etc. mounted on failure; never rm -rf through a live mount.
  local m
  for m in $(awk -v s="$stage" '$2 ~ "^"s {print $2}' /proc/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$stage"
}
trap cleanup EXIT
root="$stage/rootfs"
debootstrap --variant=minbase --include="$INCLUDE" --cache-dir="$IMAGE_CACHE/debootstrap" \
  "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$stage/debootstrap.log" 2>&1 \
  || { tail -n 30 "$stage/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
  "$root"/usr/share/man "$root"/usr/share/locale

ctr="$(bh from scratch)"
mnt="$(bh mount "$ctr")"
cp -a "$root/." "$mnt/"
bh umount "$ctr" >/dev/null
bh config --env PATH=/usr/local/bin:/usr/bin:/bin --env LANG=C.UTF-8 --cmd '["/bin/sh"]' \
  --label org.opencontainers.image.title=vaultconf-python-builder "$ctr"
bh commit -q --rm "$ctr" "$os_ref" >/dev/null
ctr=""
add_wheels
