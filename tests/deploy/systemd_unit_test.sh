#!/usr/bin/env bash
# The shipped systemd unit (deploy/systemd/hart-broker.service) is valid for
# systemd 252 (Debian 12), runs the broker with the flags it has, and keeps
# its hardening: systemd-analyze's exposure score stays "OK" (<= 2.0).
# Usage: systemd_unit_test.sh <source dir> <hart-broker binary>
set -euo pipefail
src=$1
broker=$2
unit="$src/deploy/systemd/hart-broker.service"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify checks that ExecStart's binary exists: point it at the one built.
sed "s#/usr/local/bin/hart-broker#$broker#g" "$unit" > "$work/hart-broker.service"
systemd-analyze verify "$work/hart-broker.service"

# Every flag the unit passes is one the broker knows (it refuses unknown ones).
flags=$(sed -n 's/^ *\(--[a-z-]*\) .*/\1/p' "$unit" | sort -u)
help=$("$broker" --helpfull 2>&1 || true)
for flag in $flags; do
  name=${flag#--}
  if ! grep -q -- "-${name//-/_}\b\|-${name}\b" <<<"$help"; then
    echo "systemd_unit_test: the unit passes $flag, which hart-broker does not know" >&2
    exit 1
  fi
done

score=$(systemd-analyze security --offline=true "$work/hart-broker.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for hart-broker.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  echo "systemd_unit_test: systemd-analyze gave no exposure score" >&2
  exit 1
fi
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
  echo "systemd_unit_test: exposure $score is above 2.0: hardening was lost" >&2
  exit 1
fi
echo "systemd_unit_test: unit verified, flags known, exposure $score"
