#!/usr/bin/env bash
# Installs the Debian 12 packages the broker needs to build, run and test.
# Idempotent: asks apt only for what is missing, so a second run does nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libboost-dev libboost-system-dev
  libssl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libsqlite3-dev libpq-dev postgresql
  # hart-broker's and hart-bench's allocator outside the sanitizer build
  # (HART_JEMALLOC).
  libjemalloc-dev
  libyaml-cpp-dev
  prometheus-cpp-dev
  # tests only: promtool checks the /metrics scrape; headless chromium drives
  # the supervisors' dashboard.
  prometheus chromium
  # systemd-analyze checks the shipped unit (deploy/systemd/).
  systemd
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
