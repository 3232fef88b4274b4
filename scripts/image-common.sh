# Shared settings for the image scripts (sourced, not run). No Docker daemon: buildah with the vfs storage
# driver and chroot isolation, in a project-local storage root so CI, tests and people never collide with
# a system-wide store.
# shellcheck shell=bash

IMAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Overridable so a CI job can put the (large, vfs = full copies) store on a scratch disk.
IMAGE_STATE="${SIDEKICK_IMAGE_STATE:-$IMAGE_ROOT/.engines/image}"
BUILDAH_STORAGE="$IMAGE_STATE/storage"
BUILDAH_RUNROOT="$IMAGE_STATE/run"
IMAGE_CACHE="$IMAGE_STATE/cache"
DEBIAN_SUITE="${SIDEKICK_DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${SIDEKICK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export BUILDAH_ISOLATION=chroot

# buildah against the project store. Every image script and test goes through this.
bh() {
  buildah --root "$BUILDAH_STORAGE" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"
}

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: error: %s\n' "$*" >&2; exit 1; }

# Install missing host tools from Debian's archive (the only registry these machines reach).
ensure_tools() {
  local want=() cmd pkg
  for pair in "$@"; do
    cmd="${pair%%=*}"; pkg="${pair#*=}"
    command -v "$cmd" >/dev/null 2>&1 || want+=("$pkg")
  done
  [ ${#want[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${want[*]}: install them (apt-get install ${want[*]}) or run as root"
  log "installing ${want[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
}

# True when the project store already holds image $1.
have_image() { bh inspect --type image "$1" >/dev/null 2>&1; }

# sha256 of stdin, first 16 hex digits: cache keys.
short_hash() { sha256sum | cut -c1-16; }
