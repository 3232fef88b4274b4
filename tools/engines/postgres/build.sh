#!/usr/bin/env bash
# PostgreSQL for the leased-secret tests (Vault's database secrets engine needs a real database).
# Debian's postgresql package puts initdb/postgres under /usr/lib/postgresql/<v>/bin, off PATH; link them
# into .engines/bin so tests find them like every other engine. Installs the package if it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)  # tools/engines/postgres -> the repository
bin="$root/.engines/bin"
mkdir -p "$bin"
find_pg() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pgbin=$(find_pg)
if [ -z "$pgbin" ] && ! command -v initdb >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "postgres: PostgreSQL is missing: apt-get install postgresql" >&2
    exit 1
  fi
  echo "postgres: installing Debian's postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pgbin=$(find_pg)
fi
for tool in initdb postgres pg_ctl; do
  if [ -n "$pgbin" ] && [ -x "$pgbin/$tool" ]; then
    ln -sfn "$pgbin/$tool" "$bin/$tool"
  fi
done
"$bin/postgres" --version 2>/dev/null || postgres --version
