#!/usr/bin/env bash
# Runs N hart-broker replicas (default 3) in the foreground, all on the one
# local PostgreSQL database of deploy/dev-postgres.sh: what production's
# replicas behind a load balancer look like, on one machine. Ctrl-C stops
# them all. For development and tests only.
#
# Usage: run-replicas.sh [N]
#
# It builds hart-broker and hartctl (deploy/build.sh; make rebuilds only what
# changed), starts the development PostgreSQL, makes the development
# certificates (var/certs, as deploy/dev-up.sh) and one key directory all
# replicas share, writes one config per replica (deploy/config/connecticut.yaml
# plus a store section: backend postgres, broker_id replica-<i>) and starts
# replica i on 127.0.0.1:<base port + i - 1>, its operations port (/readyz)
# on a free port (replica-<i>.ops-port).
#
# The database and the key directory belong together: the keys open the
# referrals' data keys. To start afresh, remove both:
#   bash deploy/dev-postgres.sh destroy && rm -rf .dev/replicas
#
# Environment:
#   HART_REPLICAS_DIR        configs, keys, data dirs, logs, port files
#                            (default <repo>/.dev/replicas)
#   HART_REPLICA_BASE_PORT   replica 1's port, the others the next ones
#                            (default 7451; 0: free ports, see the .port files)
#   HART_CERTS_DIR           development certificates (default <repo>/var/certs)
#   HART_PG_DIR, HART_PG_PORT  passed to deploy/dev-postgres.sh
#   HART_NO_BUILD=1          do not run deploy/build.sh (tests: ctest built them)
#   HART_BROKER_BINARY, HARTCTL_BINARY  the binaries (default under build/)
#   HART_LOG_LEVEL           the brokers' --log-level (default info)
#   HART_REPLICAS_SOURCE_CONFIG  the config each replica's derives from
#                            (default deploy/config/connecticut.yaml)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "run-replicas: $*" >&2; exit 1; }

n=${1:-3}
[[ $# -le 1 && $n =~ ^[1-9][0-9]?$ ]] || { echo "usage: $(basename "$0") [N (1-99, default 3)]" >&2; exit 2; }

build=${HART_BUILD_DIR:-$root/build}
broker=${HART_BROKER_BINARY:-$build/broker/hart-broker}
hartctl=${HARTCTL_BINARY:-$build/broker/cli/hartctl}
dir=${HART_REPLICAS_DIR:-$root/.dev/replicas}
certs=${HART_CERTS_DIR:-$root/var/certs}
base_port=${HART_REPLICA_BASE_PORT:-7451}
[[ $base_port =~ ^[0-9]+$ ]] || die "HART_REPLICA_BASE_PORT must be a port number or 0"
source_config=${HART_REPLICAS_SOURCE_CONFIG:-$root/deploy/config/connecticut.yaml}

if [[ ${HART_NO_BUILD:-0} != 1 ]]; then
  bash "$root/deploy/build.sh" hart-broker hartctl
fi
[[ -x $broker ]] || die "no $broker; build it (deploy/build.sh hart-broker) or set HART_BROKER_BINARY"

# The database. dev-postgres.sh is idempotent: an already running server is kept.
bash "$root/deploy/dev-postgres.sh" start
# shellcheck disable=SC1090  # its exports: HART_PG_CONNINFO, HART_PG_PASSWORD_FILE
eval "$(bash "$root/deploy/dev-postgres.sh" env)"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)   # absolute: it goes into configs
certs_parent=$(dirname "$certs"); mkdir -p "$certs_parent"
certs=$(cd "$certs_parent" && pwd)/$(basename "$certs")

agency_ids=$("$broker" --config "$source_config" --print-agency-ids)
# shellcheck disable=SC2086  # one argument per agency id
bash "$root/deploy/make-dev-certs.sh" "$certs" $agency_ids >/dev/null
# One key directory for every replica: the key-encryption keys that open any
# referral's data key, the ack-token key and the partners' secrets must be the
# same wherever a request lands.
bash "$root/deploy/make-dev-secrets.sh" "$dir/keys" >/dev/null

# The store and audit sections are appended as text: connecticut.yaml leaves
# both out on purpose (their defaults apply), so appending cannot clash.
if grep -Eq '^(store|audit):' "$source_config"; then
  die "$source_config now has a top-level store: or audit: section; teach this script to merge it"
fi

write_config() {  # I → path of replica I's config
  local i=$1 config=$dir/replica-$1.yaml
  {
    cat "$source_config"
    cat <<EOF

# ---- Added by deploy/run-replicas.sh for replica $i of $n.
store:
  backend: postgres
  broker_id: replica-$i          # unique per replica: its name on the claims it makes
  postgres:
    conninfo: "$HART_PG_CONNINFO"
    password_file: "$HART_PG_PASSWORD_FILE"
    # The development server listens on 127.0.0.1 only and has no TLS;
    # production uses verify-full (docs/production-postgres.md).
    sslmode: disable
audit:
  # One signing key for the cluster: whichever replica holds the leader lease
  # signs checkpoints, and all of them verify under this key.
  signing_key_file: "$dir/audit-signing.key"
EOF
  } >"$config"
  echo "$config"
}

pids=()
stopping=0
stop_all() {
  stopping=1
  trap - INT TERM
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A broker drains and exits on SIGTERM; give it 30 s, then SIGKILL.
  for _ in $(seq 1 300); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Waits (bounded) until replica I wrote its port file; fails if it exited.
wait_for_port() {
  local i=$1 pid=$2 port_file=$dir/replica-$1.port
  for _ in $(seq 1 600); do   # 60 s: the first start also migrates the schema
    [[ -s $port_file ]] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$dir/replica-$i.log" >&2; die "replica-$i exited during start-up (log: $dir/replica-$i.log)"; }
    sleep 0.1
  done
  tail -n 30 "$dir/replica-$i.log" >&2
  die "replica-$i did not start serving within 60 s (log: $dir/replica-$i.log)"
}

for i in $(seq 1 "$n"); do
  config=$(write_config "$i")
  if [[ $base_port -eq 0 ]]; then listen=127.0.0.1:0; else listen=127.0.0.1:$((base_port + i - 1)); fi
  rm -f "$dir/replica-$i.port" "$dir/replica-$i.ops-port"
  mkdir -p "$dir/replica-$i"
  # Output to the terminal prefixed with the replica's name, and to its log.
  "$broker" --config "$config" --data-dir "$dir/replica-$i" --key-dir "$dir/keys" \
    --tls-dir "$certs" --listen "$listen" --port-file "$dir/replica-$i.port" \
    --ops-listen 127.0.0.1:0 --ops-port-file "$dir/replica-$i.ops-port" \
    --log-level "${HART_LOG_LEVEL:-info}" \
    > >(tee "$dir/replica-$i.log" | sed -u "s/^/[replica-$i] /") 2>&1 &
  pids+=($!)
  # One at a time: the first replica creates the shared key-encryption key
  # and the audit signing key; replicas started together would race to.
  wait_for_port "$i" "$!"
done

echo
echo "run-replicas: $n replicas on PostgreSQL ($HART_PG_CONNINFO):"
for i in $(seq 1 "$n"); do
  echo "  replica-$i  127.0.0.1:$(cat "$dir/replica-$i.port")  ops https://127.0.0.1:$(cat "$dir/replica-$i.ops-port")/readyz  config $dir/replica-$i.yaml  log $dir/replica-$i.log"
done
p1=$(cat "$dir/replica-1.port"); p2=$(cat "$dir/replica-$(( n > 1 ? 2 : 1 )).port")
cat <<EOF
Try (another shell):
  export HART_CERTS_DIR=$certs
  $hartctl --target 127.0.0.1:$p1 submit tests/testdata/intakes/school-sex-trafficking-hartford.json
  $hartctl --target 127.0.0.1:$p2 status <referral id>
  $hartctl --target 127.0.0.1:$p2 feed --agency hartford-pd --ack accepted --idle_exit 5
Ctrl-C stops every replica.
EOF

# Until Ctrl-C, or until a replica exits on its own: then stop the others too.
rc=0
wait -n "${pids[@]}" || rc=$?
if [[ $stopping -eq 0 ]]; then
  echo "run-replicas: a replica exited (status $rc); stopping the others" >&2
  stop_all
  exit $(( rc == 0 ? 1 : rc ))
fi
