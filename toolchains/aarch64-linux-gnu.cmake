# Raspberry Pi OS 64-bit (or any aarch64 Linux with glibc), cross-compiled
# with Debian's g++-aarch64-linux-gnu:
#   bash toolchains/deps.sh cross
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake \
#         -DQRT_BUILD_CONVERTER=OFF [-DQRT_STATIC_TOOLS=ON]
# armv8-a baseline (Pi 3/4 and up): NEON is always there; the dotprod
# kernels are compiled separately and picked at run time from AT_HWCAP.
set(QRT_CROSS_TRIPLE aarch64-linux-gnu)
set(QRT_CROSS_PROCESSOR aarch64)
set(QRT_CROSS_QEMU qemu-aarch64)
set(QRT_CROSS_ARCH_FLAGS "-march=armv8-a")
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
