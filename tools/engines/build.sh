#!/usr/bin/env bash
# Builds every test engine into .engines/bin from the Go module proxy.
# Each engine lives in tools/engines/<name>/ with its own build.sh; each is cached
# (it returns in seconds when its binary is newer than its go.mod/go.sum).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.engines/bin"
status=0
for script in "$root"/tools/engines/*/build.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$(dirname "$script")")
  start=$(date +%s)
  if bash "$script"; then
    echo "engines: $name ready ($(( $(date +%s) - start ))s)"
  else
    echo "engines: $name FAILED to build; see the output above" >&2
    status=1
  fi
done
exit $status
