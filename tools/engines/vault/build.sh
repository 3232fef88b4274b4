#!/usr/bin/env bash
# Builds the real Vault server into <repo>/.engines/bin/vault from the Go module proxy.
#
# Cached: returns at once when the binary is newer than go.mod, go.sum and this script. A fitting `vault` (or
# `bao`) already on PATH is linked instead by tools/engines/build.sh, which then does not call this script.
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

if fresh; then
  echo "vault: cached $("$out" version 2>/dev/null | head -1) ($out)"
  exit 0
fi

command -v go >/dev/null || { echo "vault: Go is needed to build Vault (apt-get install golang-go)" >&2; exit 1; }
start=$(date +%s)
echo "vault: building github.com/hashicorp/vault (pinned in $here/go.mod); a cold build takes several minutes"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
export GOFLAGS=-mod=readonly  # go.sum is committed: a build never silently changes the module graph

# Vault v1.21.4 was released against its unpublished in-tree sdk; the published sdk v0.21.0 gives
# framework.Backend.ActivationFunc a third argument that no caller uses (and keysutil's RestorePolicy one
# result fewer). go.mod therefore replaces
# github.com/hashicorp/vault with a copy of the v1.21.4 module (checksum-verified against the sum below,
# kept under .engines/src, never committed) in which those call sites are adapted; nothing else changes.
# (`go build -overlay` would be simpler but refuses files in the module cache.)
vault_version=v1.21.4
vault_sum="h1:KHGcdSnJtombvae1gDk+jZ50kiFngJPFDOvcCJRnU0c="
src="$root/.engines/src/vault-$vault_version"
patch_one() {  # patch_one FILE SED-EXPR: exactly one line of FILE must change
  local before after
  before=$(cat "$1")
  sed -i "$2" "$1"
  after=$(cat "$1")
  if [ "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c '^>')" != 1 ]; then
    echo "vault: the sdk adapter no longer applies to $1; update build.sh for this Vault version" >&2
    exit 1
  fi
}
if [ ! -f "$src/.vaultconf-patched-minimal" ]; then
  info=$(cd / && GOFLAGS= go mod download -json "github.com/hashicorp/vault@$vault_version")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$info")
  if [ "$sum" != "$vault_sum" ] || [ ! -d "$dir" ]; then
    echo "vault: github.com/hashicorp/vault@$vault_version has checksum '$sum', expected $vault_sum" >&2
    exit 1
  fi
  rm -rf "$src.tmp" && mkdir -p "$(dirname "$src")" && cp -r "$dir" "$src.tmp" && chmod -R u+w "$src.tmp"
  patch_one "$src.tmp/vault/identity_store.go" \
    's/ActivationFunc: iStore.activateDeduplication,/ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },/'
  patch_one "$src.tmp/vault/logical_system_activation_flags.go" \
    's/b.idStoreBackend.ActivationFunc(ctx, nil)/b.idStoreBackend.ActivationFunc(ctx, nil, "")/'
  # keysutil's RestorePolicy returns only an error in sdk v0.21.0; the key name it would return feeds
  # nothing but an observation record, and is the requested name.
  patch_one "$src.tmp/builtin/logical/transit/path_restore.go" \
    's/restoredKeyName, err := b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/restoredKeyName, err := keyName, b.lm.RestorePolicy(ctx, req.Storage, keyName, backupB64, force)/'
  # Slim build: Vault's own `minimal` build tag leaves out every storage backend but inmem/raft and every
  # plugin but approle, cert, jwt/oidc, userpass, kv, pki, ssh and transit (helper/builtinplugins/registry.go,
  # command/commands.go); its two no-op hooks (registry_min.go, commands_min.go) are where the full build adds
  # the rest. They are replaced by hooks adding only what this project runs: kubernetes auth, the aws and
  # database engines' postgresql plugin, and file storage (tests/support/vault.py's file server). About half of
  # the full build's packages (cloud SDKs, 20 storage backends, 30 plugins) are then never compiled.
  cat >"$src.tmp/helper/builtinplugins/registry_min.go" <<'GO'
//go:build minimal

package builtinplugins

import (
	credKube "github.com/hashicorp/vault-plugin-auth-kubernetes"
	logicalAws "github.com/hashicorp/vault/builtin/logical/aws"
	dbPostgres "github.com/hashicorp/vault/plugins/database/postgresql"
)

// extendAddonPlugins adds the plugins vaultconf uses to Vault's minimal registry (added by vaultconf's build).
func extendAddonPlugins(reg *registry) {
	reg.credentialBackends["kubernetes"] = credentialBackend{Factory: credKube.Factory}
	reg.logicalBackends["aws"] = logicalBackend{Factory: logicalAws.Factory}
	reg.databasePlugins["postgresql-database-plugin"] = databasePlugin{Factory: dbPostgres.New}
}
GO
  cat >"$src.tmp/command/commands_min.go" <<'GO'
//go:build minimal

package command

import (
	_ "github.com/hashicorp/vault/helper/builtinplugins"
	physFile "github.com/hashicorp/vault/sdk/physical/file"
)

// extendAddonHandlers adds file storage to Vault's minimal build (added by vaultconf's build).
func extendAddonHandlers(handlers *vaultHandlers) {
	handlers.physicalBackends["file"] = physFile.NewFileBackend
	handlers.physicalBackends["file_transactional"] = physFile.NewTransactionalFileBackend
}
GO
  touch "$src.tmp/.vaultconf-patched-minimal"
  rm -rf "$src" && mv "$src.tmp" "$src"
fi

(cd "$here" && CGO_ENABLED=0 go build -tags minimal -trimpath -ldflags "-s -w" -o "$tmp" github.com/hashicorp/vault)
mv -f "$tmp" "$out"
echo "vault: built $("$out" version | head -1) in $(( $(date +%s) - start ))s," \
  "$(( $(stat -c %s "$out") / 1048576 )) MiB"
