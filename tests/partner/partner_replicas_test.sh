#!/usr/bin/env bash
# A partner built from proto/ alone (proto_partner) on replica B of two
# hart-broker replicas sharing a throw-away PostgreSQL; intakes submitted to
# replica A with hartctl. Passes when the partner received and acknowledged
# (RECEIVED, then ACCEPTED) every delivery A's receipts name for its agency,
# and A reports each of them ACKNOWLEDGED: the .proto files are enough to
# integrate, and the replicas really share one state.
#
# Reuses deploy/dev-postgres.sh (temporary directory, free port) and
# deploy/run-replicas.sh (2 replicas, free ports). Run by ctest
# (tests/partner/CMakeLists.txt), which sets:
#   HART_BROKER_BINARY, HARTCTL_BINARY, PROTO_PARTNER_BINARY, HART_E2E_CERTS_DIR
# Everything listens on 127.0.0.1 only. Every wait is bounded.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "partner_replicas_test: FAIL: $*" >&2; exit 1; }
for var in HART_BROKER_BINARY HARTCTL_BINARY PROTO_PARTNER_BINARY HART_E2E_CERTS_DIR; do
  [[ -n ${!var:-} ]] || fail "$var is not set (run through ctest)"
done
certs=$HART_E2E_CERTS_DIR
[[ -f $certs/ca.crt ]] || fail "no $certs/ca.crt: the make_e2e_dev_certs fixture makes it"

# The agency whose feed the partner reads: the statewide HT task force gets
# every trafficking referral, whatever the town.
readonly AGENCY=ct-ht-task-force
readonly INTAKES=(school-sex-trafficking-hartford urgent-hotel-bridgeport labor-trafficking-waterbury)
readonly PARTNER_TIMEOUT=90

work=$(mktemp -d "${TMPDIR:-/tmp}/hart-partner-test.XXXXXX")
# As root, PostgreSQL runs as the postgres user, which must pass through here.
chmod 711 "$work"
replicas_pid=""
partner_pid=""

show_logs() {
  local f
  for f in "$work/replicas.out" "$work/partner.out" "$work/partner.err" "$work/pg/server.log"; do
    [[ -f $f ]] || continue
    echo "---- $f (tail)" >&2
    tail -n 40 "$f" >&2
  done
}

cleanup() {
  local rc=$?
  trap - EXIT
  [[ $rc -eq 0 ]] || show_logs
  if [[ -n $partner_pid ]]; then kill "$partner_pid" 2>/dev/null || true; fi
  if [[ -n $replicas_pid ]]; then
    # run-replicas.sh stops its brokers on SIGTERM (bounded: 30 s, then SIGKILL).
    kill -TERM "$replicas_pid" 2>/dev/null || true
    wait "$replicas_pid" 2>/dev/null || true
  fi
  HART_PG_DIR=$work/pg bash "$root/deploy/dev-postgres.sh" destroy >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local end=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < end)) || fail "waited ${seconds} s for $what"
    sleep 0.2
  done
}

echo "== PostgreSQL (throw-away, free port)"
HART_PG_DIR=$work/pg HART_PG_PORT=auto HART_PG_FSYNC=off bash "$root/deploy/dev-postgres.sh" start

echo "== replicas A and B"
HART_NO_BUILD=1 HART_PG_DIR=$work/pg HART_REPLICAS_DIR=$work/replicas HART_REPLICA_BASE_PORT=0 \
  HART_CERTS_DIR=$certs HART_LOG_LEVEL=debug \
  bash "$root/deploy/run-replicas.sh" 2 >"$work/replicas.out" 2>&1 &
replicas_pid=$!
replicas_ready() {
  kill -0 "$replicas_pid" 2>/dev/null || fail "run-replicas.sh exited early"
  grep -q "run-replicas: 2 replicas" "$work/replicas.out"
}
wait_until 120 "both replicas to serve" replicas_ready
port_a=$(cat "$work/replicas/replica-1.port")
port_b=$(cat "$work/replicas/replica-2.port")
[[ $port_a != "$port_b" ]] || fail "both replicas report port $port_a"
echo "A = replica-1 on 127.0.0.1:$port_a, B = replica-2 on 127.0.0.1:$port_b"

hartctl_a() { "$HARTCTL_BINARY" --target "127.0.0.1:$port_a" --certs_dir "$certs" "$@"; }

# The partner subscribes to B before anything is submitted, so what it gets
# comes live: A commits, B's feed-head watcher sees the appends and wakes the
# stream. --expect is fixed before the receipts exist: every one of these
# intakes is a trafficking report, which routes one delivery to the HT task
# force; the receipts are checked against that count below.
echo "== proto_partner on B as $AGENCY (subscribed before the submits)"
"$PROTO_PARTNER_BINARY" --target "127.0.0.1:$port_b" --ca "$certs/ca.crt" \
  --cert "$certs/agency-$AGENCY.crt" --key "$certs/agency-$AGENCY.key" --agency "$AGENCY" \
  --expect "${#INTAKES[@]}" --timeout-seconds "$PARTNER_TIMEOUT" \
  >"$work/partner.out" 2>"$work/partner.err" &
partner_pid=$!
subscribed() {
  kill -0 "$partner_pid" 2>/dev/null || fail "proto_partner exited before the submits: $(cat "$work/partner.err")"
  grep -q "event=subscribe agency=$AGENCY" "$work/replicas/replica-2.log"
}
wait_until 30 "replica B to log proto_partner's subscription" subscribed

echo "== submit ${#INTAKES[@]} intakes to A"
referrals=()
expected=()
for name in "${INTAKES[@]}"; do
  receipt=$(hartctl_a submit "$root/tests/testdata/intakes/$name.json") ||
    fail "hartctl submit $name to A failed: $receipt"
  referral=$(awk '$1 == "referral" { print $2; exit }' <<<"$receipt")
  [[ -n $referral ]] || fail "no referral id in the receipt of $name: $receipt"
  referrals+=("$referral")
  # Receipt table rows: AGENCY KIND RULES DELIVERY ...; the delivery id is
  # the row's dlv_ field (RULES may hold several, comma-separated).
  mapfile -t ids < <(awk -v a="$AGENCY" '$1 == a { for (i = 2; i <= NF; i++) if ($i ~ /^dlv_/) print $i }' <<<"$receipt")
  [[ ${#ids[@]} -ge 1 ]] || fail "$name was not routed to $AGENCY: $receipt"
  expected+=("${ids[@]}")
done
echo "expecting ${#expected[@]} deliveries for $AGENCY: ${expected[*]}"
[[ ${#expected[@]} -eq ${#INTAKES[@]} ]] ||
  fail "the receipts name ${#expected[@]} $AGENCY deliveries; proto_partner expects ${#INTAKES[@]}"

# The partner bounds itself (--timeout-seconds); wait on it.
partner_rc=0
wait "$partner_pid" || partner_rc=$?
partner_pid=""
cat "$work/partner.out"
[[ $partner_rc -eq 0 ]] || fail "proto_partner exited $partner_rc: $(cat "$work/partner.err")"
for id in "${expected[@]}"; do
  grep -Eq "^delivery $id seq [0-9]+$" "$work/partner.out" ||
    fail "proto_partner did not report delivery $id"
done
[[ $(wc -l <"$work/partner.out") -eq ${#expected[@]} ]] ||
  fail "proto_partner reported $(wc -l <"$work/partner.out") deliveries, expected ${#expected[@]}"

echo "== A reports them acknowledged"
# Status table rows: AGENCY MESSAGE STATE ATTEMPTS ACKS ... DELIVERY ...; the
# row of each delivery must say ACKNOWLEDGED with two acks, the latest
# ACCEPTED (the partner's RECEIVED and ACCEPTED, recorded by B).
all_acknowledged() {
  local referral id statuses=""
  for referral in "${referrals[@]}"; do
    statuses+=$(hartctl_a status "$referral") || return 1
    statuses+=$'\n'
  done
  for id in "${expected[@]}"; do
    grep -F " $id " <<<"$statuses" | grep -w ACKNOWLEDGED | grep -qF "2 (ACCEPTED)" || return 1
  done
}
wait_until 30 "replica A to report every $AGENCY delivery ACKNOWLEDGED" all_acknowledged
for referral in "${referrals[@]}"; do hartctl_a status "$referral" | grep -F "$AGENCY"; done

echo "== proto_partner exits non-zero on timeout"
# An agency with nothing on its feed: it must give up after its timeout.
timeout_rc=0
"$PROTO_PARTNER_BINARY" --target "127.0.0.1:$port_b" --ca "$certs/ca.crt" \
  --cert "$certs/agency-csp-troop-a.crt" --key "$certs/agency-csp-troop-a.key" \
  --agency csp-troop-a --expect 1 --timeout-seconds 2 2>"$work/partner-timeout.err" || timeout_rc=$?
[[ $timeout_rc -eq 1 ]] ||
  fail "proto_partner with nothing to receive exited $timeout_rc, expected 1: $(cat "$work/partner-timeout.err")"

echo "partner_replicas_test: PASS (${#expected[@]} deliveries submitted to A, acknowledged on B by proto_partner, ACKNOWLEDGED on A)"
