#!/usr/bin/env bash
# Remove stale images from the project's buildah store: older tags of the repositories of the images given
# as arguments (the current base, builder and sidekick), then dangling images. vfs keeps full copies, so
# this matters. Other repositories (e.g. the debootstrap'ed builder OS) are left alone, and so are images
# still used by a working container.
set -euo pipefail
# shellcheck source=scripts/image-common.sh
source "$(dirname "$0")/image-common.sh"
declare -A keep=() repos=()
for r in "$@"; do keep[$r]=1; repos[${r%:*}]=1; done
bh images --format '{{.Name}}:{{.Tag}}' 2>/dev/null | while read -r r; do
  [ -n "${repos[${r%:*}]:-}" ] && [ -z "${keep[$r]:-}" ] || continue
  log "removing stale image $r"
  bh rmi "$r" >/dev/null 2>&1 || true
done
bh rmi --prune >/dev/null 2>&1 || true
