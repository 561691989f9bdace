#!/usr/bin/env bash
# Installs clang with the libFuzzer and sanitizer runtimes (Debian: clang and
# libclang-rt-N-dev) and the LLVM linker (lld: links the sanitized test
# binaries several times faster than GNU ld) for the sanitizer + fuzzing
# build. Idempotent: asks apt only for what is missing, so a second run does
# nothing.
set -euo pipefail

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
apt_install() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "install-clang: installing ${missing[*]}"
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}
can_link_fuzzer() {
  local dir rc=0
  dir=$(mktemp -d)
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
    >"$dir/probe.cc"
  clang++ -fsanitize=fuzzer,address,undefined "$dir/probe.cc" -o "$dir/probe" \
    >/dev/null 2>&1 || rc=$?
  rm -rf "$dir"
  return $rc
}

if ! command -v clang++ >/dev/null 2>&1; then apt_install clang; fi
if ! command -v ld.lld >/dev/null 2>&1; then apt_install lld; fi
if ! can_link_fuzzer; then
  clang_major=$(clang++ -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-${clang_major}-dev"
  can_link_fuzzer || { echo "install-clang: clang++ cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi
echo "install-clang: $(clang++ --version | head -1) links libFuzzer + ASan + UBSan"
