#!/usr/bin/env bash
# Builds qrt and runs every test: the release build, then the same suite
# under ASan+UBSan, the threading tests under TSan, the fuzzers for a
# minute each, the release suite built by clang, and the cross builds under
# qemu. Run from anywhere; build trees go to build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash toolchains/deps.sh host
jobs=$(nproc)

echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$jobs"
(cd build/release && ctest --output-on-failure -j"$jobs")
# tests/converter/test_workflow_parity.cc leaves the PyTorch parity table here.
echo "== parity with PyTorch 1.13"
cat build/release/tests/parity_table.txt

echo "== ASan+UBSan build"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRT_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan && ctest --output-on-failure -j"$jobs")

# ThreadSanitizer on the tests that run threads (tests/runtime/test_threads.cc:
# the pool, interpreters sharing one model, overlapping calls refused). The
# rest of the suite is single-threaded; the converter is not needed.
echo "== TSan build, threading tests"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRT_SANITIZE=thread \
  -DQRT_BUILD_CONVERTER=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target qrt-tests-threads
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/qrt-tests-threads -tc='threads:*'

# libFuzzer harnesses (tests/fuzz), clang only: 60 s each from the seeds;
# any crash, leak or sanitizer report fails the run.
echo "== fuzz smoke (clang, libFuzzer+ASan+UBSan)"
bash toolchains/deps.sh sanitizers
# -O1 as OSS-Fuzz builds: instrumented -O2 builds of the SIMD kernels take
# many CPU minutes under clang, and a minute of fuzzing gains little from them.
cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS=-O1 -DCMAKE_CXX_FLAGS=-O1 \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DQRT_FUZZ=ON -DQRT_BUILD_TESTS=OFF >/dev/null
cmake --build build/fuzz -j"$jobs" --target qrt-fuzz-model qrt-fuzz-npy qrt-fuzz-onnx qrt-fuzz-seeds
bash tests/fuzz/run.sh smoke build/fuzz

# The release suite again, built by clang: it holds the code to C++17 where
# GCC allows extensions (a lambda capturing a structured binding), and its
# warnings differ; -Werror fails the build on either.
echo "== release build with clang"
cmake -S . -B build/clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build/clang -j"$jobs"
(cd build/clang && ctest --output-on-failure -j"$jobs")

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
