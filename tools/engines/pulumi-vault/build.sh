#!/usr/bin/env bash
# Builds .engines/bin/pulumi-resource-vault: this project's OWN test provider for the `vault` package (the
# upstream pulumi-vault provider cannot be built from the Go module proxy; see main.go).
# Cached: returns at once when the binary is newer than every source file here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
out="$bin/pulumi-resource-vault"
version=7.14.0   # pulumi-vault in requirements.txt
mkdir -p "$bin"
cd "$here"
if [ -x "$out" ] && [ -z "$(find . -newer "$out" \( -name '*.go' -o -name 'go.*' -o -name build.sh \) -print -quit)" ]; then
  exit 0
fi
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out.tmp" .
mv -f "$out.tmp" "$out"
