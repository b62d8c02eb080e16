# Android arm64-v8a, through the NDK's own toolchain file:
#   export ANDROID_NDK=/path/to/android-ndk
#   cmake -S . -B build/android-arm64 -DCMAKE_TOOLCHAIN_FILE=toolchains/android-arm64-v8a.cmake \
#         -DQRT_BUILD_CONVERTER=OFF -DQRT_BUILD_TESTS=OFF [-DANDROID_PLATFORM=android-28]
set(QRT_ANDROID_ABI arm64-v8a)
include(${CMAKE_CURRENT_LIST_DIR}/android-common.cmake)
