#!/usr/bin/env bash
# Builds .engines/bin/pulumi-resource-random: the upstream Terraform random provider bridged to Pulumi.
# 1. builds pulumi-tfgen-random and generates the Pulumi schema + bridge metadata from the upstream provider;
# 2. builds the provider with both embedded, reporting the version the Python SDK in requirements.txt asks for.
# Cached: returns at once when the binary is newer than every source file here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="$root/.engines/bin"
out="$bin/pulumi-resource-random"
version=4.21.4   # pulumi-random in requirements.txt
mkdir -p "$bin"
cd "$here"
if [ -x "$out" ] && [ -z "$(find . -newer "$out" \( -name '*.go' -o -name 'go.*' -o -name build.sh \) -print -quit)" ]; then
  exit 0
fi
export GOFLAGS=-mod=readonly CGO_ENABLED=0
# sum.golang.org does not list this pseudo-version of the upstream provider; go.sum pins its hash instead.
export GONOSUMDB=github.com/terraform-providers/terraform-provider-random
export RANDOM_UPSTREAM_DIR
# `go list -m` names a module's directory only once it is in the module cache: download it first
go mod download github.com/terraform-providers/terraform-provider-random
RANDOM_UPSTREAM_DIR=$(go list -m -f '{{.Dir}}' github.com/terraform-providers/terraform-provider-random)
[ -n "$RANDOM_UPSTREAM_DIR" ] || { echo "pulumi-resource-random: the upstream provider is not in the module cache" >&2; exit 1; }
ldflags="-s -w -X vaultconf.local/engines/pulumi-random/provider.Version=$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -s provider/bridge-metadata.json ] || echo '{}' > provider/bridge-metadata.json
[ -s cmd/pulumi-resource-random/schema.json ] || echo '{}' > cmd/pulumi-resource-random/schema.json
echo "pulumi-resource-random: building the schema generator (cold build: many minutes)"
go build -trimpath -ldflags "$ldflags" -o "$work/pulumi-tfgen-random" ./cmd/pulumi-tfgen-random
# PULUMI_CONVERT=false: doc examples stay as written (converting them needs the CLI and a converter plugin).
PULUMI_CONVERT=false PULUMI_SKIP_MISSING_MAPPING_ERROR=true PULUMI_SKIP_EXTRA_MAPPING_ERROR=true \
  "$work/pulumi-tfgen-random" schema --out "$work/schema"
cp "$work/schema/schema.json" cmd/pulumi-resource-random/schema.json
cp "$work/schema/bridge-metadata.json" provider/bridge-metadata.json
go build -trimpath -ldflags "$ldflags" -o "$out.tmp" ./cmd/pulumi-resource-random
mv -f "$out.tmp" "$out"
