#!/usr/bin/env bash
# Usage: check_sqlite_link.sh BINARY yes|no
# Asserts whether BINARY links SQLite, dynamically (a NEEDED libsqlite3
# entry) or statically (sqlite3_* functions defined in it). hartctl must
# not: it talks to the broker over gRPC only (hart-admin reads stores).
set -euo pipefail
binary=$1
expected=$2
# readelf failing (no such file, not ELF) fails the check instead of passing it.
dynamic=$(readelf --dynamic "$binary")
if ! grep -q '(NEEDED)' <<<"$dynamic"; then
  echo "$binary: no NEEDED entries; cannot tell what it links" >&2
  exit 1
fi
symbols=$(nm --defined-only "$binary" 2>/dev/null || true)
actual=no
if grep -q '(NEEDED).*libsqlite3' <<<"$dynamic" || grep -qE ' [Tt] sqlite3_' <<<"$symbols"; then
  actual=yes
fi
if [ "$actual" != "$expected" ]; then
  echo "$binary: links SQLite: $actual, expected: $expected" >&2
  exit 1
fi
echo "$binary: links SQLite: $actual, as expected"
