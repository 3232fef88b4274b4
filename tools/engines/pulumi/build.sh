#!/usr/bin/env bash
# Builds the real Pulumi CLI into .engines/bin/pulumi from the Go module proxy (pinned in go.mod/go.sum).
# Cached: returns at once when the binary is newer than go.mod, go.sum and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
out="$bin/pulumi"
version=v3.274.1   # keep in step with go.mod
mkdir -p "$bin"
if [ -x "$out" ] && [ "$out" -nt "$here/go.mod" ] && [ "$out" -nt "$here/go.sum" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
cd "$here"
echo "pulumi: building $version (cold build: several minutes)"
GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$out.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv -f "$out.tmp" "$out"
