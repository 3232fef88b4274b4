#!/usr/bin/env bash
# Builds the real etcd server (go.etcd.io/etcd/server/v3, pinned in go.mod) into .engines/bin.
# Cached: returns at once while the binary is newer than its sources and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/.engines/bin/etcd"
if [ -x "$out" ] && [ "$out" -nt "$here/go.mod" ] && [ "$out" -nt "$here/go.sum" ] \
  && [ "$out" -nt "$here/main.go" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
cd "$here"
echo "engines: building etcd $(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
mv -f "$out.tmp" "$out"
