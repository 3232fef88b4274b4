#!/usr/bin/env bash
# Builds this project's Python language host into .engines/bin/pulumi-language-python and installs next to it
# the real `pulumi-language-python-exec` script from the github.com/pulumi/pulumi/sdk/v3 module pinned in go.mod.
# Cached: returns at once when both are newer than go.mod, go.sum, the Go sources and this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
out="$bin/pulumi-language-python"
script="$bin/pulumi-language-python-exec"
mkdir -p "$bin"
fresh=1
for f in go.mod go.sum main.go host.go build.sh; do
  [ -x "$out" ] && [ -x "$script" ] && [ "$out" -nt "$here/$f" ] || fresh=0
done
[ $fresh = 1 ] && exit 0
cd "$here"
export GOFLAGS=-mod=readonly CGO_ENABLED=0
# `go list -m` names a module's directory only once it is in the module cache: download it first
go mod download github.com/pulumi/pulumi/sdk/v3
sdk=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
[ -n "$sdk" ] || { echo "pulumi-language-python: the sdk module is not in the module cache" >&2; exit 1; }
sdkversion=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$script.tmp"
mv -f "$script.tmp" "$script"
go build -trimpath -ldflags "-s -w -X main.version=${sdkversion#v}" -o "$out.tmp" .
mv -f "$out.tmp" "$out"
