#!/usr/bin/env bash
# Builds the real kube-apiserver and kube-controller-manager (k8s.io/kubernetes, pinned in go.mod) into
# .engines/bin. Cached: returns at once while both binaries are newer than go.mod, go.sum and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
cmds=(kube-apiserver kube-controller-manager)
fresh=1
for c in "${cmds[@]}"; do
  for src in "$here/go.mod" "$here/go.sum" "$here/build.sh"; do
    [ -x "$bin/$c" ] && [ "$bin/$c" -nt "$src" ] || fresh=0
  done
done
[ $fresh = 1 ] && exit 0

cd "$here"
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)       # e.g. v1.37.2
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
# The version stamps make /version report the real release (clients such as the Pulumi provider read it).
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
echo "engines: building ${cmds[*]} $version (cold: tens of minutes on 2 cores)"
mkdir -p "$bin"
tmp=$(mktemp -d "$bin/.kube-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pkgs=()
for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
for c in "${cmds[@]}"; do mv -f "$tmp/$c" "$bin/$c"; done
