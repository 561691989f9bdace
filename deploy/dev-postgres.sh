#!/usr/bin/env bash
# A local PostgreSQL 15 for development: the database several hart-broker
# replicas share (deploy/run-replicas.sh). For development and tests only; see
# docs/production-postgres.md for what production needs.
#
# Usage: dev-postgres.sh start|stop|status|env|destroy
#   start    initialise (first time) and start the server, create role and
#            database "hart"; does nothing more if it already runs
#   stop     stop it (fast shutdown: sessions ended, a checkpoint, exit)
#   status   exit 0 and say where it listens if it runs, exit 3 if not
#   env      print shell exports for it (eval "$(deploy/dev-postgres.sh env)")
#   destroy  stop it and delete its directory (data and password)
#
# Environment:
#   HART_PG_DIR   its directory (default: <repo>/.dev/postgres): data/, sock/,
#                 server.log, port, and hart.password (mode 600, the password
#                 of role hart; a broker config names it as password_file)
#   HART_PG_PORT  TCP port on 127.0.0.1 (default: the port it last ran on,
#                 else 55432); "auto" picks a free one (tests)
#   HART_PG_FSYNC on (default) or off (throw-away test servers: faster)
#   HART_PG_AUTOVACUUM_NAPTIME  autovacuum's pause between passes, e.g. 1s
#                 (default: PostgreSQL's 1min); at initialisation only. A new
#                 database's tables are first analysed (and the statements'
#                 cached plans made again) at autovacuum's first pass, so a
#                 benchmark of a few seconds on 1s measures one closer to a
#                 database in service
#   HART_PG_BIN   PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
#
# PostgreSQL refuses to run as root. Invoked as root, the server runs as the
# "postgres" system user Debian's package creates (as tests/support/
# postgres_server.cc does), so HART_PG_DIR's parent directories must let that
# user through (mode o+x).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
readonly DEFAULT_PORT=55432
readonly DB_NAME=hart
readonly DB_USER=hart

die() { echo "dev-postgres: $*" >&2; exit 1; }

usage() {
  echo "usage: $(basename "$0") start|stop|status|env|destroy" >&2
  exit 2
}

[[ $# -eq 1 ]] || usage
command=$1

dir=${HART_PG_DIR:-$root/.dev/postgres}
# Absolute: the paths printed end up in broker configs run from elsewhere.
[[ $dir == /* ]] || dir=$PWD/$dir
bin=${HART_PG_BIN:-/usr/lib/postgresql/15/bin}
data=$dir/data
sock=$dir/sock
log=$dir/server.log
password_file=$dir/hart.password
port_file=$dir/port
if [[ -n ${HART_PG_AUTOVACUUM_NAPTIME:-} && ! $HART_PG_AUTOVACUUM_NAPTIME =~ ^[1-9][0-9]*(ms|s|min)$ ]]; then
  die "HART_PG_AUTOVACUUM_NAPTIME must be a duration such as 1s, 500ms or 2min, not '$HART_PG_AUTOVACUUM_NAPTIME'"
fi

# Runs a PostgreSQL program as the user the server runs as.
run_user=""
if [[ $(id -u) -eq 0 ]]; then
  run_user=postgres
fi
as_pg() {
  if [[ -n $run_user ]]; then
    runuser -u "$run_user" -- "$@"
  else
    "$@"
  fi
}

ensure_binaries() {
  if [[ ! -x $bin/initdb || ! -x $bin/pg_ctl || ! -x $bin/psql ]]; then
    echo "dev-postgres: no PostgreSQL 15 in $bin; running deploy/install-deps.sh (it installs the postgresql package)"
    bash "$root/deploy/install-deps.sh"
    [[ -x $bin/initdb ]] || die "still no $bin/initdb after install-deps.sh; set HART_PG_BIN to PostgreSQL 15's bin directory"
  fi
  if [[ -n $run_user ]] && ! id "$run_user" >/dev/null 2>&1; then
    die "running as root, and there is no '$run_user' user to run PostgreSQL as (it refuses root); deploy/install-deps.sh installs the postgresql package, which creates it"
  fi
}

# 0 when the server of $data runs (pg_ctl status: 0 running, 3 not, 4 no data dir).
running() {
  [[ -f $data/PG_VERSION ]] || return 1
  as_pg "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

current_port() {
  if [[ -s $port_file ]]; then cat "$port_file"; else echo "$DEFAULT_PORT"; fi
}

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! port_in_use "$p"; then echo "$p"; return 0; fi
  done
  die "found no free port on 127.0.0.1"
}

init_cluster() {
  # The server user must reach its data directory through every parent.
  mkdir -p "$data" "$sock"
  chmod 755 "$dir"
  chmod 700 "$data" "$sock"
  touch "$log"
  if [[ -n $run_user ]]; then
    chown "$run_user:" "$data" "$sock" "$log"
    as_pg test -x "$data" ||
      die "user $run_user cannot reach $data (a parent directory is not o+x); choose another HART_PG_DIR, e.g. under /tmp"
  fi
  echo "dev-postgres: initialising $data"
  # Local socket: peer (this script administers as the server's OS user,
  # who is the superuser); TCP: passwords (SCRAM), as the brokers connect.
  # --no-sync: a development cluster need not survive a power cut before its
  # first checkpoint.
  if ! as_pg "$bin/initdb" -D "$data" --auth-local=peer --auth-host=scram-sha-256 \
        -E UTF8 --locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed (log above, also in $dir/initdb.log)"
  fi
  # Loopback only; the socket in our directory, not /var/run/postgresql
  # (which the Debian package's own cluster uses and root may not have made).
  # max_connections: each replica opens up to store.postgres.pool_size (8)
  # connections; 200 leaves room for many replicas and psql sessions.
  cat >>"$data/postgresql.conf" <<EOF

# Added by deploy/dev-postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
fsync = ${HART_PG_FSYNC:-on}
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  if [[ -n ${HART_PG_AUTOVACUUM_NAPTIME:-} ]]; then
    echo "autovacuum_naptime = '$HART_PG_AUTOVACUUM_NAPTIME'" >>"$data/postgresql.conf"
  fi
}

start_server() {
  local port=$1
  port_in_use "$port" && return 10
  # -w: return once it accepts connections, bounded by -t seconds.
  if ! as_pg "$bin/pg_ctl" start -D "$data" -l "$log" -o "-p $port" -w -t 60 >/dev/null; then
    if tail -n 20 "$log" | grep -q "Address already in use"; then return 10; fi
    tail -n 30 "$log" >&2
    die "PostgreSQL did not start on 127.0.0.1:$port (its log: $log)"
  fi
  echo "$port" >"$port_file"
}

# Role and database "hart", the role's password from (or into) the password
# file; safe to repeat.
ensure_role_and_database() {
  local port=$1 password
  if [[ ! -s $password_file ]]; then
    (umask 077 && openssl rand -hex 24 >"$password_file.tmp")
    mv "$password_file.tmp" "$password_file"
  fi
  chmod 600 "$password_file"   # the broker refuses a password file others can read
  password=$(tr -d '\n' <"$password_file")
  [[ $password =~ ^[A-Za-z0-9]+$ ]] ||
    die "$password_file must hold letters and digits only (delete it to get a new one)"
  # Through stdin, not argv: the password never shows in ps.
  printf '%s\n' \
    "SELECT 'CREATE ROLE $DB_USER LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') \\gexec" \
    "ALTER ROLE $DB_USER PASSWORD '$password';" \
    "SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \\gexec" |
    as_pg "$bin/psql" -h "$sock" -p "$port" -d postgres -X -q -v ON_ERROR_STOP=1 >/dev/null ||
    die "creating role and database $DB_NAME failed (server log: $log)"
  # What a broker does: TCP, password authentication.
  PGPASSWORD=$password PGCONNECT_TIMEOUT=10 "$bin/psql" -X -q -At \
    "host=127.0.0.1 port=$port dbname=$DB_NAME user=$DB_USER sslmode=disable" \
    -c 'SELECT 1' >/dev/null ||
    die "role $DB_USER cannot log in over TCP with $password_file"
}

conninfo() { echo "host=127.0.0.1 port=$(current_port) dbname=$DB_NAME user=$DB_USER"; }

case $command in
  start)
    ensure_binaries
    mkdir -p "$dir"
    [[ -f $data/PG_VERSION ]] || init_cluster
    if running; then
      port=$(current_port)
      echo "dev-postgres: already running on 127.0.0.1:$port"
      if [[ -n ${HART_PG_PORT:-} && ${HART_PG_PORT} != auto && ${HART_PG_PORT} != "$port" ]]; then
        echo "dev-postgres: note: HART_PG_PORT=$HART_PG_PORT ignored; stop it first to move it" >&2
      fi
    else
      requested=${HART_PG_PORT:-$(current_port)}
      for attempt in 1 2 3 4 5; do
        if [[ $requested == auto ]]; then port=$(free_port); else port=$requested; fi
        rc=0
        start_server "$port" || rc=$?
        [[ $rc -eq 0 ]] && break
        # Taken: a fixed port is the caller's to change; "auto" tries another.
        [[ $requested == auto && $attempt -lt 5 ]] ||
          die "port $port on 127.0.0.1 is taken; stop what uses it or set HART_PG_PORT (or HART_PG_PORT=auto)"
      done
      echo "dev-postgres: started on 127.0.0.1:$port (data $data, log $log)"
    fi
    ensure_role_and_database "$port"
    echo "dev-postgres: database $DB_NAME ready: conninfo \"$(conninfo)\", password_file $password_file"
    ;;
  stop)
    if running; then
      as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null ||
        die "PostgreSQL did not stop within 60 s (its log: $log)"
      echo "dev-postgres: stopped"
    else
      echo "dev-postgres: not running"
    fi
    ;;
  status)
    if running; then
      echo "dev-postgres: running on 127.0.0.1:$(current_port), conninfo \"$(conninfo)\", password_file $password_file"
    else
      echo "dev-postgres: not running (data ${data})"
      exit 3
    fi
    ;;
  env)
    port=$(current_port)
    cat <<EOF
export HART_PG_DIR='$dir'
export HART_PG_CONNINFO='$(conninfo)'
export HART_PG_PASSWORD_FILE='$password_file'
export PGHOST=127.0.0.1 PGPORT=$port PGDATABASE=$DB_NAME PGUSER=$DB_USER
EOF
    ;;
  destroy)
    if running; then
      as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null ||
        die "PostgreSQL did not stop within 60 s (its log: $log); not deleting $dir"
    fi
    rm -rf "$dir"
    echo "dev-postgres: deleted $dir"
    ;;
  *) usage ;;
esac
