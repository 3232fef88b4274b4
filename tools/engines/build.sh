#!/usr/bin/env bash
# Puts every test engine into .engines/bin: binaries already installed are used when their version fits, and
# only what is missing is built from the Go module proxy (tools/engines/<name>/build.sh, each cached).
#
# Why this shape:
# * Real users already have `vault`, `pulumi` and often the Kubernetes binaries: building them again costs
#   half an hour on 2 cores. A binary on PATH (outside .engines/bin) whose version is at least the minimum
#   below is linked into .engines/bin instead. ENGINES_FROM_PATH=0 builds everything (CI's pinned engines).
# * A cold build is mostly waiting: module downloads are network-bound and one `go build` leaves a core idle
#   while it links. So every engine module's downloads are prefetched concurrently first, then the engines
#   build in three concurrent lanes, each led by one of the three long builds (Vault, the kube pair,
#   pulumi-resource-kubernetes).
# * Our own plugins (the language host and the Vault test provider) and the pinned providers are always built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$root/.engines/bin"
logs="$root/.engines/logs"
mkdir -p "$bin" "$logs"

# name:minimum-version for the engines that may come from PATH. vault 1.15 has every API the tests use;
# pulumi must speak the 3.274 engine protocol our language host is built against; kube/etcd as pinned minors.
path_ok=(vault:1.15.0 pulumi:3.274.0 kube-apiserver:1.30.0 kube-controller-manager:1.30.0 etcd:3.5.0)

# PATH without .engines/bin (the Makefile puts it first), so an engine we linked or built is not "found" again.
outside_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$bin" | paste -sd: || true)

version_of() {  # version_of BINARY -> x.y.z or empty
  local out
  case "$(basename "$1")" in
    vault | bao) out=$("$1" version 2>/dev/null) ;;
    pulumi) out=$("$1" version 2>/dev/null) ;;
    etcd) out=$("$1" --version 2>/dev/null) ;;
    *) out=$("$1" --version 2>/dev/null) ;;
  esac
  grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$out" | head -1 || true
}

version_fits() {  # version_fits HAVE MIN
  [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

# from_path NAME: link NAME from PATH into .engines/bin when its version fits; 0 if linked.
from_path() {
  local name=$1 min="" entry found ver
  [ "${ENGINES_FROM_PATH:-1}" = 1 ] || return 1
  for entry in "${path_ok[@]}"; do [ "${entry%%:*}" = "$name" ] && min=${entry#*:}; done
  [ -n "$min" ] || return 1
  for cand in "$name" $([ "$name" = vault ] && echo bao); do
    found=$(PATH=$outside_path command -v "$cand" || true)
    [ -n "$found" ] || continue
    ver=$(version_of "$found")
    if version_fits "$ver" "$min"; then
      ln -sfn "$found" "$bin/$name"
      echo "engines: $name $ver from PATH ($found)"
      return 0
    fi
    echo "engines: $name on PATH ($found) is version '${ver:-unknown}', below $min: building the pinned one"
  done
  return 1
}

# Which engines each build script provides (only those in path_ok can come from PATH).
provides() {
  case "$1" in
    kube) echo kube-apiserver kube-controller-manager ;;
    *) echo "$1" ;;
  esac
}

# One line saying where each installable engine comes from, so `make test`/`make demo` say what they use.
summarize() {
  local entry name where=()
  for entry in "${path_ok[@]}"; do
    name=${entry%%:*}
    if [ -L "$bin/$name" ]; then where+=("$name=$(readlink "$bin/$name")")
    elif [ -x "$bin/$name" ]; then where+=("$name=built")
    else where+=("$name=MISSING"); fi
  done
  echo "engines: using ${where[*]}"
}

needs_build=()
for script in "$here"/*/build.sh; do
  engine=$(basename "$(dirname "$script")")
  all_linked=1
  for name in $(provides "$engine"); do
    # A link left by an earlier run to a binary that is gone or no longer fits is dropped, then re-decided.
    if [ -L "$bin/$name" ] && ! from_path "$name" >/dev/null; then rm -f "$bin/$name"; fi
    from_path "$name" || all_linked=0
  done
  [ $all_linked = 1 ] || needs_build+=("$engine")
done

[ ${#needs_build[@]} -gt 0 ] || { summarize; exit 0; }
command -v go >/dev/null || {
  echo "engines: Go is needed to build ${needs_build[*]} (apt-get install golang-go, or put them on PATH)" >&2
  exit 1
}

# Prefetch: each engine's pinned module graph, all modules at once (downloads only; cached in GOMODCACHE).
# Vault's go.mod replaces Vault itself with a patched copy its build.sh makes, so its own prefetch happens
# inside that script; the others are listed in their go.mod. A failed prefetch is not fatal: the build that
# follows downloads what it needs and reports the real error.
start=$(date +%s)
pids=()
for engine in "${needs_build[@]}"; do
  [ -f "$here/$engine/go.mod" ] && [ "$engine" != vault ] || continue
  (cd "$here/$engine" && GOFLAGS=-mod=readonly go mod download >"$logs/prefetch-$engine.log" 2>&1) &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
[ ${#pids[@]} -eq 0 ] || echo "engines: modules prefetched in $(( $(date +%s) - start ))s"

# Three lanes of about equal cold build time (measured from empty Go caches: vault, kube and
# pulumi-resource-kubernetes are the three long builds), each long build first, the short ones after it.
# An engine not named here goes to the last lane.
lane_plan=("vault pulumi-random pulumi-language-python pulumi-vault" "kube etcd postgres" \
  "pulumi-kubernetes pulumi")
run_lane() {  # run_lane N ENGINE...: builds in order, logs each to .engines/logs, stops at nothing
  local lane=$1 status=0 engine s
  shift
  for engine in "$@"; do
    s=$(date +%s)
    if bash "$here/$engine/build.sh" >"$logs/$engine.log" 2>&1; then
      echo "engines: $engine ready ($(( $(date +%s) - s ))s)"
    else
      echo "engines: $engine FAILED to build; its log (.engines/logs/$engine.log) ends:" >&2
      tail -n 20 "$logs/$engine.log" >&2
      status=1
    fi
  done
  return $status
}
lanes=("" "" "")
for n in 0 1 2; do  # the plan's order, keeping only what must be built
  for engine in ${lane_plan[n]}; do
    [[ " ${needs_build[*]} " == *" $engine "* ]] && lanes[n]="${lanes[n]} $engine"
  done
done
for engine in "${needs_build[@]}"; do
  [[ " ${lane_plan[*]} " == *" $engine "* ]] || lanes[2]="${lanes[2]} $engine"
done
pids=()
for n in 0 1 2; do
  # shellcheck disable=SC2086 # word splitting of the lane's engine names is intended
  [ -n "${lanes[n]}" ] && { run_lane "$n" ${lanes[n]} & pids+=($!); }
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
echo "engines: done in $(( $(date +%s) - start ))s"
summarize
exit $status
