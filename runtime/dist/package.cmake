# Packages libqrt.a for shipping (target qrt-dist): the runtime and every
# kernel partially linked into one object that exports the C API (qrt.h)
# and nothing else, stripped. One object instead
# of ~60 saves the per-object symbol tables, section headers and duplicate
# inline functions that made the plain archive twice the code it holds.
#   cmake -DIN=libqrt.a -DOUT=dist/lib/libqrt.a -DSCRIPT=one_object.ld
#         -DLD=ld -DNM=nm -DOBJCOPY=objcopy -DSTRIP=strip -DAR=ar -P package.cmake
# (resolve_branches.py, beside this file, runs under python3 when found.)
foreach(var IN ITEMS IN OUT SCRIPT LD NM OBJCOPY STRIP AR)
  if(NOT ${var})
    message(FATAL_ERROR "package.cmake: ${var} is not set (CMake found no tool for it?)")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " line "${ARGN}")
    message(FATAL_ERROR "package.cmake: `${line}` failed (${rc}):\n${out}${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

get_filename_component(out_dir "${OUT}" DIRECTORY)
set(work "${OUT}.work")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}" "${out_dir}")

# The C API: every global function named qrt_*, the only symbols left global.
run("${NM}" -g --defined-only "${IN}")
string(REGEX MATCHALL "[0-9a-fA-F]+ T qrt_[A-Za-z0-9_]+" api "${run_output}")
list(TRANSFORM api REPLACE "^[0-9a-fA-F]+ T " "")
list(REMOVE_DUPLICATES api)
list(LENGTH api count)
if(count EQUAL 0)
  message(FATAL_ERROR "package.cmake: ${IN} defines no qrt_* function")
endif()
string(REPLACE ";" "\n" keep "${api}")
file(WRITE "${work}/keep.txt" "${keep}\n")

# GNU ld can also resolve COMDAT groups and merge sections in a partial
# link; other linkers (lld from the Android NDK) get the plain partial link.
# No --gc-sections: every operator is reachable through the registry, and a
# partial link would collect .eh_frame with the garbage.
set(gnu_options "")
execute_process(COMMAND "${LD}" --version OUTPUT_VARIABLE version ERROR_QUIET)
if(version MATCHES "^GNU ld")
  set(gnu_options --force-group-allocation -T "${SCRIPT}")
endif()
run("${LD}" -r ${gnu_options} -o "${work}/qrt.o" --whole-archive "${IN}")
run("${OBJCOPY}" "--keep-global-symbols=${work}/keep.txt" "${work}/qrt.o" "${work}/hidden.o")
# The partial link keeps a relocation for every call between functions of
# the one .text; on aarch64 resolve_branches.py writes them into the code
# (see there). Without Python the package is only larger.
find_program(PYTHON3 python3)
if(PYTHON3)
  get_filename_component(here "${CMAKE_CURRENT_LIST_FILE}" DIRECTORY)
  run("${PYTHON3}" "${here}/resolve_branches.py" "${work}/hidden.o" "${work}/resolved.o")
  file(RENAME "${work}/resolved.o" "${work}/hidden.o")
else()
  message(WARNING "package.cmake: no python3; branch relocations left in ${OUT}")
endif()
# A relocatable object keeps the local symbols its relocations name, and
# their mangled C++ names were a sixth of the file. A second partial link
# with --discard-all drops the ones it can express as section offsets;
# nothing outside the object can refer to the rest, so each gets a short
# name (_1, _2...); mapping symbols ($x, $d, $a, $t) keep theirs, the
# linker reads them.
run("${LD}" -r --discard-all -o "${work}/local.o" "${work}/hidden.o")
run("${NM}" "${work}/local.o")
string(REGEX MATCHALL "[0-9a-fA-F]+ [a-z] [^$\n][^\n]*" locals "${run_output}")
list(TRANSFORM locals REPLACE "^[0-9a-fA-F]+ [a-z] " "")
list(REMOVE_DUPLICATES locals)
set(renames "")
set(n 0)
foreach(name IN LISTS locals)
  math(EXPR n "${n} + 1")
  string(APPEND renames "${name} _${n}\n")
endforeach()
file(WRITE "${work}/renames.txt" "${renames}")
run("${OBJCOPY}" "--redefine-syms=${work}/renames.txt" "${work}/local.o" "${work}/short.o")
run("${STRIP}" --strip-unneeded -R .comment -o "${work}/libqrt.o" "${work}/short.o")
file(REMOVE "${work}/libqrt.a")
run("${AR}" rcs "${work}/libqrt.a" "${work}/libqrt.o")
file(RENAME "${work}/libqrt.a" "${OUT}")
file(REMOVE_RECURSE "${work}")
