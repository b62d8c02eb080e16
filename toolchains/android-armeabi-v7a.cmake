# Android armeabi-v7a (NEON), through the NDK's own toolchain file:
#   export ANDROID_NDK=/path/to/android-ndk
#   cmake -S . -B build/android-armv7 -DCMAKE_TOOLCHAIN_FILE=toolchains/android-armeabi-v7a.cmake \
#         -DQRT_BUILD_CONVERTER=OFF -DQRT_BUILD_TESTS=OFF [-DANDROID_PLATFORM=android-28]
set(QRT_ANDROID_ABI armeabi-v7a)
include(${CMAKE_CURRENT_LIST_DIR}/android-common.cmake)
