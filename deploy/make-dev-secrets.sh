#!/usr/bin/env bash
# Creates the development secrets the push adapters of
# deploy/config/connecticut.yaml name (relative "*_file" settings resolve
# against the broker's --key-dir). For development and tests only: in
# production the operator provisions each secret with the partner.
#
# Usage: make-dev-secrets.sh KEY_DIR
#
# In KEY_DIR (created with mode 700), each only if missing, mode 600:
#   webhook-stamford-pd.secret   HMAC key shared with the Stamford PD webhook (64 hex chars)
#   ncmec-credentials            "username:password" for NCMEC's reporting API
#   file-drop-signing.pem        Ed25519 key that signs dropped files
set -euo pipefail

[[ $# -eq 1 && "$1" != -* ]] || { echo "usage: $(basename "$0") KEY_DIR" >&2; exit 2; }
key_dir="$1"
mkdir -p "$key_dir"
chmod 700 "$key_dir"
umask 077

make_secret() {  # FILE COMMAND...
  local file="$key_dir/$1"
  shift
  if [[ ! -e "$file" ]]; then
    "$@" > "$file.tmp"
    chmod 600 "$file.tmp"
    mv "$file.tmp" "$file"
    echo "make-dev-secrets: created $file"
  fi
}

make_secret webhook-stamford-pd.secret openssl rand -hex 32
make_secret ncmec-credentials bash -c 'printf "hart-dev:%s\n" "$(openssl rand -hex 16)"'
make_secret file-drop-signing.pem openssl genpkey -algorithm ed25519
