# ctest: the packaged library (runtime/dist/package.cmake) within its budget.
#   cmake -DFILE=dist/lib/libqrt.a -DLIMIT=bytes -P dist_size.cmake
file(SIZE "${FILE}" bytes)
math(EXPR kib "${bytes} / 1024")
math(EXPR limit_kib "${LIMIT} / 1024")
if(bytes GREATER LIMIT)
  message(FATAL_ERROR "${FILE} is ${bytes} bytes (${kib} KiB), over the ${LIMIT}-byte (${limit_kib} KiB) budget")
endif()
message(STATUS "${FILE}: ${bytes} bytes (${kib} KiB) of ${LIMIT} (${limit_kib} KiB)")
