#!/usr/bin/env bash
# Stripped sizes of what ships to a board, for aarch64 and armv7, built
# Release with the Debian cross toolchains (toolchains/deps.sh cross):
# dist/lib/libqrt.a, the packaged library (runtime + all kernels, no
# converter, one object exporting the C API; runtime/dist/package.cmake),
# the plain build archive runtime/libqrt.a stripped for comparison, and a
# statically linked qrt-run (linked against the package).
#   tests/bench/arm_sizes.sh [build-root]    (default build/sizes)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash toolchains/deps.sh cross
root=${1:-build/sizes}
jobs=$(nproc)
limit_kib=300  # aarch64 libqrt.a budget (issue 9)

kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }

# bytes: the stripped file. code+data: text + data + bss from size(1), what
# linking it can add to a program at most (an archive also carries symbol
# tables and the relocations a static library cannot drop).
printf '%-8s %-14s %12s %10s %12s\n' arch file bytes KiB code+data
status=0
for target in aarch64:aarch64-linux-gnu armv7:arm-linux-gnueabihf; do
  arch=${target%%:*}
  triple=${target#*:}
  dir=$root/$arch
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DQRT_BUILD_CONVERTER=OFF -DQRT_BUILD_TESTS=OFF \
    -DQRT_STATIC_TOOLS=ON -DCMAKE_TOOLCHAIN_FILE="toolchains/$triple.cmake" >/dev/null
  cmake --build "$dir" -j"$jobs" --target qrt-dist qrt-run >/dev/null
  mkdir -p "$dir/stripped"
  cp "$dir/dist/lib/libqrt.a" "$dir/stripped/libqrt.a"
  "$triple-strip" --strip-unneeded -o "$dir/stripped/plain-libqrt.a" "$dir/runtime/libqrt.a"
  "$triple-strip" -o "$dir/stripped/qrt-run" "$dir/runtime/qrt-run"
  for f in libqrt.a plain-libqrt.a qrt-run; do
    bytes=$(stat -c %s "$dir/stripped/$f")
    loaded=$("$triple-size" -t "$dir/stripped/$f" | awk 'END { print $4 }')
    printf '%-8s %-14s %12s %10s %12s\n' "$arch" "$f" "$bytes" "$(kib "$bytes")" "$loaded"
    if [[ $arch == aarch64 && $f == libqrt.a && $bytes -gt $((limit_kib * 1024)) ]]; then
      echo "arm_sizes.sh: aarch64 libqrt.a is over the ${limit_kib} KiB budget" >&2
      status=1
    fi
  done
done
exit $status
