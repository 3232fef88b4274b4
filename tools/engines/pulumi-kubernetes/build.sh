#!/usr/bin/env bash
# Builds the real pulumi-kubernetes provider into .engines/bin/pulumi-resource-kubernetes from the Go module
# proxy (see go.mod for the exact source commit). It reports itself as the version the Python SDK in
# requirements.txt asks for, so the engine uses it instead of trying to download that version.
# Cached: returns at once when the binary is newer than go.mod, go.sum, main.go and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
out="$bin/pulumi-resource-kubernetes"
version=4.34.2   # pulumi-kubernetes in requirements.txt
mkdir -p "$bin"
fresh=1
for f in go.mod go.sum main.go gen/main.go build.sh; do
  [ -x "$out" ] && [ "$out" -nt "$here/$f" ] || fresh=0
done
[ $fresh = 1 ] && exit 0
cd "$here"
export GOFLAGS=-mod=readonly CGO_ENABLED=0
# `go list -m` names a module's directory only once it is in the module cache: download it first
go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
src=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)
[ -n "$src" ] || { echo "pulumi-resource-kubernetes: the provider module is not in the module cache" >&2; exit 1; }
src=$src/cmd/pulumi-resource-kubernetes
go run ./gen "$src" "$here" "$version"
echo "pulumi-resource-kubernetes: building (cold build: many minutes)"
go build -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version" \
  -o "$out.tmp" .
mv -f "$out.tmp" "$out"
