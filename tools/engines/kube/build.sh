#!/usr/bin/env bash
# Builds the real kube-apiserver (k8s.io/kubernetes cmd/kube-apiserver, pinned in go.mod) into .engines/bin.
# Cached: returns at once while the binary is newer than go.mod, go.sum and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/.engines/bin/kube-apiserver"
if [ -x "$out" ] && [ "$out" -nt "$here/go.mod" ] && [ "$out" -nt "$here/go.sum" ] && [ "$out" -nt "$0" ]; then
  exit 0
fi
cd "$here"
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)       # e.g. v1.37.2
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
# The version stamps make /version report the real release (clients such as the Pulumi provider read it).
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
mkdir -p "$(dirname "$out")"
echo "engines: building kube-apiserver $version (cold: tens of minutes on 2 cores)"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv -f "$out.tmp" "$out"
