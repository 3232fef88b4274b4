#!/usr/bin/env bash
# buildah against the project's image store (.engines/image), e.g.
#   scripts/image-buildah.sh images
#   scripts/image-buildah.sh inspect localhost/vaultconf/sidekick:0.1.0
# Tests use it too, so they see exactly the store `make image` filled.
set -euo pipefail
# shellcheck source=scripts/image-common.sh
source "$(dirname "$0")/image-common.sh"
bh "$@"
