#!/usr/bin/env bash
# `make image`: build the sidekick OCI image from sidekick_image/Dockerfile with buildah (vfs storage,
# chroot isolation, no daemon, no registry) and write dist/sidekick-image.oci.tar (oci-archive).
#
#   1. local runtime base  (scripts/image-base.sh: distroless-style Python from Debian packages, cached)
#   2. local builder image (scripts/image-builder.sh: debootstrap'ed Debian with pip, cached)
#   3. buildah bud --build-arg BASE=... --build-arg BUILDER=... ; push to oci-archive; print sizes
#
# A second run with unchanged inputs (Dockerfile, sidekick sources, base, builder, commit) only prints the
# sizes. Environment: SIDEKICK_IMAGE_STATE (storage dir, default .engines/image), SIDEKICK_IMAGE_FORCE=1
# (rebuild the sidekick layers even if inputs are unchanged).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/image-common.sh
source "$here/image-common.sh"
cd "$IMAGE_ROOT"

start=$(date +%s)
ctx=sidekick_image
dockerfile="$ctx/Dockerfile"
archive=dist/sidekick-image.oci.tar
version="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ctx/pyproject.toml" | head -n1)"
[ -n "$version" ] || die "no version in $ctx/pyproject.toml"
ref="localhost/vaultconf/sidekick:$version"

ensure_tools buildah=buildah
mkdir -p "$IMAGE_STATE" dist

# What the builder stage installs from an index: the two hash-pinned locks, the runtime extras
# (requirements.lock) and the build backend (build.lock). Their wheels are fetched on the host into the
# builder image, so the build itself needs no network; the build's `pip install --require-hashes` checks
# every one against the locks.
pins="$(sed -n 's/^\([A-Za-z0-9_.-]*==[^ ;\\]*\).*/\1/p' "$ctx/requirements.lock" "$ctx/build.lock" | tr '\n' ' ')"
[ -n "${pins// /}" ] || die "no pinned packages in $ctx/requirements.lock and $ctx/build.lock"
base="$(bash "$here/image-base.sh")"
# shellcheck disable=SC2086  # pins is a word list
builder="$(bash "$here/image-builder.sh" $pins)"

# The last commit that changed the image's sources (not HEAD: unrelated commits must not rebuild it).
revision="$(git log -1 --format=%H -- "$ctx" 2>/dev/null || true)"
[ -n "$revision" ] || revision=unknown
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain -- "$ctx" 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
source_url="$(git remote get-url origin 2>/dev/null || true)"

# Everything the image depends on, hashed: the context files the Dockerfile copies, the Dockerfile, the
# base/builder images (their tags are content hashes) and this script.
inputs="$(
  {
    echo "$base $builder $revision $source_url"
    cat "$0" "$dockerfile" "$ctx/.dockerignore" 2>/dev/null
    find "$ctx/pyproject.toml" "$ctx/requirements.lock" "$ctx/build.lock" "$ctx/sidekick" -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | short_hash
)"
stamp="dist/sidekick-image.inputs"

if [ "${SIDEKICK_IMAGE_FORCE:-0}" != 1 ] && [ -f "$archive" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs" ] \
   && have_image "$ref"; then
  log "$archive is up to date (inputs $inputs)"
else
  log "buildah bud $dockerfile (BASE=$base, BUILDER=$builder, revision $revision)"
  build_args=(--build-arg "BASE=$base" --build-arg "BUILDER=$builder"
              --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
  [ -n "$source_url" ] && build_args+=(--build-arg "SOURCE=$source_url")
  # The build needs no network (the builder image carries the wheels and sets PIP_NO_INDEX), but chroot
  # isolation only offers the host's, hence --network host. --pull=never:
  # BASE/BUILDER exist only in the local store. No --layers: with vfs every cached step is a full copy of
  # the rootfs, which costs more than it saves; unchanged inputs skip the build altogether (above).
  bh bud --isolation chroot --network host --pull=never \
    "${build_args[@]}" -t "$ref" -f "$dockerfile" "$ctx" >&2
  tmp="$archive.tmp"
  rm -f "$tmp" "$stamp"
  bh push -q "$ref" "oci-archive:$tmp:$ref" >&2
  mv -f "$tmp" "$archive"
  echo "$inputs" >"$stamp"
  # Old tags of our images (earlier bases, builders, dangling layers) would grow the vfs store forever.
  bash "$here/image-prune.sh" "$base" "$builder" "$ref" >&2 || log "pruning old images failed (ignored)"
fi

bash "$here/image-size.sh" "$archive"
log "done in $(( $(date +%s) - start ))s: $archive ($ref)"
