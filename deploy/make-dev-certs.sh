#!/usr/bin/env bash
# Creates a development CA and the mTLS certificates the HART broker and its
# callers use. For development and tests only; production identities come from
# the operator's real CA.
#
# Usage: make-dev-certs.sh OUT_DIR [AGENCY_ID ...]
#
# In OUT_DIR (created with mode 700) it writes:
#   ca.crt / ca.key                  dev CA (EC P-256, CN "HART dev CA"); reused if ca.crt exists
#   broker.crt / broker.key          serverAuth+clientAuth; DNS:localhost, IP:127.0.0.1,
#                                    URI:spiffe://hart.ct.gov/broker/hart-broker
#   careline.crt / careline.key      URI:spiffe://hart.ct.gov/careline/careline-intake
#   supervisor.crt / supervisor.key  URI:spiffe://hart.ct.gov/supervisor/dcf-supervisor
#   auditor.crt / auditor.key        URI:spiffe://hart.ct.gov/auditor/court-auditor
#   operator.crt / operator.key      URI:spiffe://hart.ct.gov/operator/hart-operator
#   agency-<id>.crt / .key           URI:spiffe://hart.ct.gov/agency/<id>, one per AGENCY_ID
# A leaf whose .crt already exists is left alone, so the script is idempotent.
# Leaves are EC P-256, valid 825 days, signed by the dev CA. Keys are mode 600.
# Prints one line per certificate it creates; verifies every created certificate
# against ca.crt and exits non-zero if any fails. Needs only the openssl CLI
# (OpenSSL 3.0 or later).
set -euo pipefail

readonly TRUST_DOMAIN="hart.ct.gov"
readonly LEAF_DAYS=825
readonly CA_DAYS=3650

usage() {
  echo "usage: $(basename "$0") OUT_DIR [AGENCY_ID ...]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
[[ "$1" != -* ]] || usage
out_dir="$1"
shift

for id in "$@"; do
  if [[ ! "$id" =~ ^[a-z0-9-]+$ ]]; then
    echo "make-dev-certs: invalid agency id '$id' (lowercase letters, digits and '-' only)" >&2
    exit 2
  fi
done

command -v openssl >/dev/null 2>&1 || { echo "make-dev-certs: openssl not found" >&2; exit 1; }

mkdir -p "$out_dir"
chmod 700 "$out_dir"

tmp_dir="$(mktemp -d)"
trap 'rm -rf "$tmp_dir"' EXIT

created=()

# quietly CMD...: runs CMD with its stderr captured; shows it and fails on error.
quietly() {
  if ! "$@" 2>"$tmp_dir/stderr"; then
    cat "$tmp_dir/stderr" >&2
    echo "make-dev-certs: failed: $*" >&2
    exit 1
  fi
}

# A random positive 128-bit serial number (no ca.srl file to keep around).
serial() { echo "0x$(openssl rand -hex 16)"; }

# new_key PATH: writes an EC P-256 private key with mode 600.
new_key() {
  local key="$1"
  (umask 077 && quietly openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key")
  chmod 600 "$key"
}

# --- CA ------------------------------------------------------------------
ca_key="$out_dir/ca.key"
ca_crt="$out_dir/ca.crt"
if [[ -f "$ca_crt" ]]; then
  [[ -f "$ca_key" ]] || { echo "make-dev-certs: $ca_crt exists but $ca_key is missing" >&2; exit 1; }
else
  new_key "$ca_key"
  cat >"$tmp_dir/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = HART dev CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  quietly openssl req -new -x509 -key "$ca_key" -config "$tmp_dir/ca.cnf" \
    -set_serial "$(serial)" -days "$CA_DAYS" -sha256 -out "$ca_crt"
  chmod 644 "$ca_crt"
  echo "created $ca_crt (CN=HART dev CA)"
  created+=("$ca_crt")
fi

# make_leaf NAME CN EKU SAN: creates NAME.crt/NAME.key in OUT_DIR unless NAME.crt exists.
make_leaf() {
  local name="$1" cn="$2" eku="$3" san="$4"
  local crt="$out_dir/$name.crt" key="$out_dir/$name.key"
  local ext="$tmp_dir/$name.ext" csr="$tmp_dir/$name.csr"
  [[ -f "$crt" ]] && return 0

  new_key "$key"
  cat >"$ext" <<EOF
[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = $eku
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
  quietly openssl req -new -key "$key" -subj "/CN=$cn" -out "$csr"
  quietly openssl x509 -req -in "$csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -set_serial "$(serial)" -days "$LEAF_DAYS" -sha256 \
    -extfile "$ext" -extensions v3 -out "$crt"
  chmod 644 "$crt"
  echo "created $crt (CN=$cn, $san)"
  created+=("$crt")
}

spiffe() { echo "URI:spiffe://$TRUST_DOMAIN/$1/$2"; }

make_leaf broker hart-broker "serverAuth, clientAuth" \
  "DNS:localhost, IP:127.0.0.1, $(spiffe broker hart-broker)"
make_leaf careline careline-intake clientAuth "$(spiffe careline careline-intake)"
make_leaf supervisor dcf-supervisor clientAuth "$(spiffe supervisor dcf-supervisor)"
make_leaf auditor court-auditor clientAuth "$(spiffe auditor court-auditor)"
make_leaf operator hart-operator clientAuth "$(spiffe operator hart-operator)"
for id in "$@"; do
  make_leaf "agency-$id" "$id" clientAuth "$(spiffe agency "$id")"
done

# --- Verify --------------------------------------------------------------
failed=0
for crt in ${created[@]+"${created[@]}"}; do
  if ! openssl verify -CAfile "$ca_crt" "$crt" >/dev/null 2>&1; then
    echo "make-dev-certs: verification FAILED for $crt" >&2
    failed=1
  fi
done
if [[ $failed -ne 0 ]]; then
  exit 1
fi
if [[ ${#created[@]} -eq 0 ]]; then
  echo "make-dev-certs: nothing to do, every certificate already exists in $out_dir" >&2
fi
