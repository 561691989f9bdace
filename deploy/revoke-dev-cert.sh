#!/usr/bin/env bash
# Revokes a development certificate and (re)writes the CRL directory the
# broker reads with --crl-dir (or server.crl_directory).
# Usage: revoke-dev-cert.sh CERTS_DIR NAME CRL_DIR     (NAME: e.g. agency-hartford-pd)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 CERTS_DIR NAME CRL_DIR" >&2
  exit 2
fi
certs=$1 name=$2 crl_dir=$3
[ -f "$certs/$name.crt" ] || { echo "no certificate $certs/$name.crt" >&2; exit 2; }
db="$certs/ca-db"
mkdir -p "$db" "$crl_dir"
[ -f "$db/index.txt" ] || touch "$db/index.txt"
[ -f "$db/crlnumber" ] || echo 01 > "$db/crlnumber"
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat > "$conf" <<CONF
[ ca ]
default_ca = dev
[ dev ]
database = $db/index.txt
crlnumber = $db/crlnumber
default_md = sha256
default_crl_days = 30
unique_subject = no
CONF
openssl ca -batch -config "$conf" -keyfile "$certs/ca.key" -cert "$certs/ca.crt" \
  -revoke "$certs/$name.crt" 2>/dev/null || true   # already revoked is fine
openssl ca -batch -config "$conf" -keyfile "$certs/ca.key" -cert "$certs/ca.crt" \
  -gencrl -out "$crl_dir/crl.pem" 2>/dev/null
hash=$(openssl crl -in "$crl_dir/crl.pem" -noout -hash)
mv "$crl_dir/crl.pem" "$crl_dir/$hash.r0"
echo "revoked $name; CRL in $crl_dir/$hash.r0"
