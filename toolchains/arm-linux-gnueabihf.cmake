# Raspberry Pi OS 32-bit (armhf), cross-compiled with Debian's
# g++-arm-linux-gnueabihf:
#   bash toolchains/deps.sh cross
#   cmake -S . -B build/armv7 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
#         -DQRT_BUILD_CONVERTER=OFF [-DQRT_STATIC_TOOLS=ON]
# ARMv7-A with NEON and VFPv4 (Pi 2 and up); the Pi 1 / Zero (ARMv6, no
# NEON) are not supported.
set(QRT_CROSS_TRIPLE arm-linux-gnueabihf)
set(QRT_CROSS_PROCESSOR armv7-a)
set(QRT_CROSS_QEMU qemu-arm)
# -D_FILE_OFFSET_BITS=64: 64-bit file offsets, as the 32-bit readdir fails
# with EOVERFLOW on directories whose offset cookies need 64 bits (ext4
# hashes; always the case under qemu-arm on a 64-bit host).
# -Wno-psabi: silences GCC's notes that the ABI for passing some std types
# changed in GCC 7.1, irrelevant when everything is built by one compiler.
set(QRT_CROSS_ARCH_FLAGS
    "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -D_FILE_OFFSET_BITS=64 -Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
