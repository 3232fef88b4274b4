#!/usr/bin/env bash
# Builds the real Vault server into <repo>/.engines/bin/vault from the Go module proxy.
#
# Cached: returns at once when the binary is newer than go.mod, go.sum and this script.
# VAULT_USE_PATH=1 links a `vault` (or `bao`) already on PATH instead, if its version is >= 1.15.
# The cold build takes minutes on 2 cores (Go caches in ~/go/pkg/mod and ~/.cache/go-build make
# later rebuilds much faster); `vault agent` is the same binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin_dir="$root/.engines/bin"
out="$bin_dir/vault"
mkdir -p "$bin_dir"

fresh() {
  [ -x "$out" ] || return 1
  for dep in "$here/go.mod" "$here/go.sum" "$here/build.sh"; do
    [ "$out" -nt "$dep" ] || return 1
  done
}

# An acceptable vault/bao on PATH (outside .engines) is used only when asked: CI builds the pinned one.
if [ "${VAULT_USE_PATH:-0}" = 1 ]; then
  for cand in vault bao; do
    found=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$bin_dir" | paste -sd:) command -v "$cand" || true)
    [ -n "$found" ] || continue
    ver=$("$found" version 2>/dev/null | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)
    major=${ver#v}; major=${major%%.*}; rest=${ver#v*.}; minor=${rest%%.*}
    if [ -n "$ver" ] && { [ "$major" -gt 1 ] || [ "$minor" -ge 15 ]; }; then
      ln -sf "$found" "$out"
      echo "vault: using $cand $ver from PATH ($found)"
      exit 0
    fi
    echo "vault: ignoring $found (version '${ver:-unknown}' < v1.15)"
  done
fi

if fresh; then
  echo "vault: cached $("$out" version 2>/dev/null | head -1) ($out)"
  exit 0
fi

command -v go >/dev/null || { echo "vault: Go is needed to build Vault (apt-get install golang-go)" >&2; exit 1; }
start=$(date +%s)
echo "vault: building github.com/hashicorp/vault (pinned in $here/go.mod); a cold build takes several minutes"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -mod=readonly: go.sum is committed, so a build never silently changes the module graph.
(cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$tmp" \
  github.com/hashicorp/vault)
mv -f "$tmp" "$out"
echo "vault: built $("$out" version | head -1) in $(( $(date +%s) - start ))s," \
  "$(( $(stat -c %s "$out") / 1048576 )) MiB"
