#!/usr/bin/env bash
# Builds qrt and runs every test: the release build, then the same suite
# under ASan+UBSan. Run from anywhere; build trees go to build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash toolchains/deps.sh host
jobs=$(nproc)

echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs"
(cd build/release && ctest --output-on-failure -j"$jobs")

echo "== ASan+UBSan build"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRT_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan && ctest --output-on-failure -j"$jobs")
