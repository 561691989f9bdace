#!/usr/bin/env bash
# Installs what is missing, builds, makes development certificates, and runs
# the broker in the foreground on its embedded default: SQLite in var/data,
# dev certificates in var/certs, the Connecticut config, 127.0.0.1:7443.
# Stop it with Ctrl-C. Then, in another shell:  build/broker/cli/hartctl --help
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash deploy/install-deps.sh
bash deploy/build.sh hart-broker hartctl
config=deploy/config/connecticut.yaml
agency_ids=$(build/broker/hart-broker --config "$config" --print-agency-ids)
# shellcheck disable=SC2086  # one argument per agency id
bash deploy/make-dev-certs.sh var/certs $agency_ids
# The secrets the push adapters of the config name (dev values).
bash deploy/make-dev-secrets.sh var/keys
echo "hart-broker: data in var/data, certificates in var/certs (export HART_CERTS_DIR=$root/var/certs for hartctl)"
exec build/broker/hart-broker --config "$config" --data-dir var/data --key-dir var/keys --tls-dir var/certs \
  --listen "${HART_LISTEN:-127.0.0.1:7443}"
