# Shared part of android-arm64-v8a.cmake and android-armeabi-v7a.cmake: wraps
# the NDK's own toolchain file, which the caller names through $ANDROID_NDK.
# They set QRT_ANDROID_ABI first; ANDROID_PLATFORM may be given on the
# command line (default android-24, Android 7.0, the oldest with the full
# C++17 library we use).

if(NOT DEFINED ENV{ANDROID_NDK} OR "$ENV{ANDROID_NDK}" STREQUAL "")
  message(FATAL_ERROR
    "toolchains/android-${QRT_ANDROID_ABI}.cmake: ANDROID_NDK is not set. "
    "Install the Android NDK (r23 or newer) and run, e.g.\n"
    "  ANDROID_NDK=$HOME/Android/Sdk/ndk/<version> "
    "cmake -S . -B build/android-${QRT_ANDROID_ABI} "
    "-DCMAKE_TOOLCHAIN_FILE=toolchains/android-${QRT_ANDROID_ABI}.cmake -DQRT_BUILD_CONVERTER=OFF")
endif()
set(QRT_ANDROID_NDK_TOOLCHAIN "$ENV{ANDROID_NDK}/build/cmake/android.toolchain.cmake")
if(NOT EXISTS "${QRT_ANDROID_NDK_TOOLCHAIN}")
  message(FATAL_ERROR
    "toolchains/android-${QRT_ANDROID_ABI}.cmake: ANDROID_NDK=$ENV{ANDROID_NDK} has no "
    "build/cmake/android.toolchain.cmake; point it at the NDK's root folder.")
endif()

set(ANDROID_ABI ${QRT_ANDROID_ABI})
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-24)
endif()
# libc++ linked statically: the binary needs only the system's libc, libm
# and libdl, which every device has, so `adb push` + run works.
set(ANDROID_STL c++_static)
if(QRT_ANDROID_ABI STREQUAL "armeabi-v7a")
  set(ANDROID_ARM_NEON ON)
endif()

include("${QRT_ANDROID_NDK_TOOLCHAIN}")

# flatc, and the flatbuffers and doctest headers, come from the build host
# (host-run or header-only); the NDK's toolchain otherwise searches its
# sysroot only. Libraries still come from the sysroot alone. -idirafter
# keeps the host's libc headers behind the NDK's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
string(APPEND CMAKE_CXX_FLAGS_INIT " -idirafter /usr/include")

if(QRT_STATIC_TOOLS)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -static")
endif()
