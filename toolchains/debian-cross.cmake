# Shared part of the Debian cross toolchains (aarch64-linux-gnu.cmake,
# arm-linux-gnueabihf.cmake); they set QRT_CROSS_TRIPLE, QRT_CROSS_PROCESSOR
# and QRT_CROSS_QEMU first. Compilers come from `toolchains/deps.sh cross`.
#
# QRT_STATIC_TOOLS=ON links every executable with -static so qrt-run and
# qrt-bench can be copied to a board and run without matching its libc.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${QRT_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${QRT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${QRT_CROSS_TRIPLE}-g++)

# Target libraries come only from the target's multiarch root; programs
# (flatc) run on the host. flatbuffers and doctest are header-only and
# arch-independent, so their host headers and CMake package files serve.
set(CMAKE_FIND_ROOT_PATH /usr/${QRT_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Why -idirafter and not -isystem: the host's /usr/include holds the host's
# glibc headers, which must never shadow the target's. -idirafter puts it
# after every target system directory, so only flatbuffers/ and doctest/
# (absent from the target root) resolve there. The compiler then reports
# /usr/include as an implicit directory and CMake stops emitting the
# -isystem /usr/include that doctest's and flatbuffers' packages ask for.
string(APPEND CMAKE_C_FLAGS_INIT " ${QRT_CROSS_ARCH_FLAGS} -idirafter /usr/include")
string(APPEND CMAKE_CXX_FLAGS_INIT " ${QRT_CROSS_ARCH_FLAGS} -idirafter /usr/include")

if(QRT_STATIC_TOOLS)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -static")
endif()

# ctest and doctest_discover_tests run target binaries through qemu-user.
# -cpu max turns on every extension qemu emulates (dotprod included), so the
# differential tests exercise every kernel tier the build has.
find_program(QRT_CROSS_QEMU_PATH ${QRT_CROSS_QEMU})
if(QRT_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QRT_CROSS_QEMU_PATH} -cpu max -L /usr/${QRT_CROSS_TRIPLE})
endif()
