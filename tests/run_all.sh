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

# Cross builds for the boards qrt ships to, whole suite under qemu-user
# (toolchains/*.cmake set CMAKE_CROSSCOMPILING_EMULATOR, so ctest and
# doctest_discover_tests work unchanged). The converter is host-only.
bash toolchains/deps.sh cross
for target in aarch64:aarch64-linux-gnu armv7:arm-linux-gnueabihf; do
  dir=build/${target%%:*}
  echo "== ${target%%:*} cross build, tests under qemu"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DQRT_BUILD_CONVERTER=OFF \
    -DCMAKE_TOOLCHAIN_FILE="toolchains/${target#*:}.cmake" >/dev/null
  cmake --build "$dir" -j"$jobs" --target qrt-tests
  (cd "$dir" && ctest --output-on-failure -j"$jobs")
done
