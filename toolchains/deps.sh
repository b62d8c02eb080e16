#!/usr/bin/env bash
# Makes sure the Debian packages a build needs are installed.
#   toolchains/deps.sh [host] [cross] [sanitizers]
# As root, installs what is missing; otherwise prints the exact apt-get line
# and exits 1.
set -euo pipefail

host=(cmake g++ make libflatbuffers-dev flatbuffers-compiler doctest-dev
      libprotobuf-dev protobuf-compiler libonnx-dev)
cross=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user python3)
sanitizers=(clang libclang-rt-14-dev)

want=()
for group in "${@:-host}"; do
  case "$group" in
    host) want+=("${host[@]}") ;;
    cross) want+=("${cross[@]}") ;;
    sanitizers) want+=("${sanitizers[@]}") ;;
    *) echo "deps.sh: unknown package group '$group' (host, cross, sanitizers)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
