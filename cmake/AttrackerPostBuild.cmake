# Run after cargo (cmake -P) by the attracker_cargo custom command. Turns
# cargo's outputs into the libraries that CMake users link and install:
#
# Static (LOCALIZE=ON): libattracker.a where only the C API (at_*) is global.
#   cargo's staticlib is ~400 objects: our crate, its dependencies, Rust's std
#   and compiler_builtins, and the bundled SQLite. All of their global symbols
#   leak into the program that links it: sqlite3_* silently replaces the
#   system SQLite of an app that also links -lsqlite3, and a second Rust
#   staticlib clashes on std, rust_eh_personality, __rust_alloc, ... when
#   either is linked whole-archive. So:
#   1. objcopy drops .llvmbc/.llvmcmd from every member: rustc's embedded
#      bitcode, excluded from links anyway. binutils hand objects carrying it
#      to an installed LLVM plugin (clang's LLVMgold), which cannot read newer
#      rustc bitcode (nm then reports "no symbols") and, merged, it would not
#      even be valid bitcode.
#   2. `ld -r --whole-archive` links every member into one relocatable object:
#      references between members are resolved here, once, so localizing
#      afterwards cannot break them. --force-group-allocation dissolves COMDAT
#      groups (Rust puts DW.ref.rust_eh_personality in one): otherwise the
#      final link would keep another Rust library's copy of the group, drop
#      ours, and leave that library's references pointing at our now-local
#      symbol ("relocation against undefined hidden symbol").
#   3. objcopy keeps global only the symbols listed from nm: every defined
#      global starting with `at_`. Undefined references (libc, libcurl,
#      libgcc_s) stay undefined-global.
#   4. `ar` makes a one-member archive of it.
#   Copied as is when LOCALIZE is OFF.
#
# Shared: cargo's cdylib has no SONAME today, and it cannot be given one from
#   CMake without fighting the other cargo commands over the target dir (see
#   AttrackerCargo.cmake). It is copied as libattracker.so; consumers link it
#   with -lattracker (IMPORTED_NO_SONAME) and record DT_NEEDED
#   libattracker.so. Once the crate sets a SONAME itself (a build.rs printing
#   cargo:rustc-cdylib-link-arg=-Wl,-soname,libattracker.so.<major>), it is
#   read here and the usual layout is made instead:
#     libattracker.so.<version>  the file
#     <soname>                   -> libattracker.so.<version>
#     libattracker.so            -> <soname>
#   and consumers, linking the same way, record DT_NEEDED <soname>.
#
# Several targets (STATIC_IN and SHARED_IN are "|"-separated lists, Apple
#   only): `lipo -create` makes one universal library of each first.
# Windows: IMPLIB_IN, the DLL's import library, is copied beside it.
#
# Variables: STATIC_IN STATIC_OUT SHARED_IN SHARED_OUT_DIR SHARED_NAME READELF
#            VERSION LOCALIZE WORK_DIR LINKER OBJCOPY NM AR IMPLIB_IN LIPO

cmake_minimum_required(VERSION 3.20)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "attracker: `${cmd}` failed (${rc}):\n${err}")
  endif()
endfunction()

file(MAKE_DIRECTORY "${WORK_DIR}")
get_filename_component(_static_dir "${STATIC_OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${_static_dir}" "${SHARED_OUT_DIR}")

# --- universal (lipo) ----------------------------------------------------------
string(REPLACE "|" ";" STATIC_IN "${STATIC_IN}")
string(REPLACE "|" ";" SHARED_IN "${SHARED_IN}")
list(LENGTH STATIC_IN _targets)
if(_targets GREATER 1)
  get_filename_component(_static_name "${STATIC_OUT}" NAME)
  run("${LIPO}" -create ${STATIC_IN} -output "${WORK_DIR}/${_static_name}")
  run("${LIPO}" -create ${SHARED_IN} -output "${WORK_DIR}/${SHARED_NAME}")
  set(STATIC_IN "${WORK_DIR}/${_static_name}")
  set(SHARED_IN "${WORK_DIR}/${SHARED_NAME}")
endif()

# --- static ------------------------------------------------------------------
if(LOCALIZE)
  set(_stripped "${WORK_DIR}/attracker-nobitcode.a")
  set(_merged "${WORK_DIR}/attracker-merged.o")
  set(_object "${WORK_DIR}/attracker.o")
  set(_keep "${WORK_DIR}/attracker-global-symbols.txt")

  file(REMOVE "${_stripped}")
  run("${OBJCOPY}" --remove-section=.llvmbc --remove-section=.llvmcmd "${STATIC_IN}" "${_stripped}")
  run("${LINKER}" -r --force-group-allocation
      --whole-archive "${_stripped}" --no-whole-archive -o "${_merged}")

  execute_process(COMMAND "${NM}" -g --defined-only --format=posix "${_merged}"
    OUTPUT_VARIABLE _symbols RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "attracker: nm ${_merged} failed (${rc}):\n${err}")
  endif()
  # posix format: "<name> <type> [<value> <size>]", one symbol a line.
  string(REGEX MATCHALL "(^|\n)at_[A-Za-z0-9_]* " _api "${_symbols}")
  list(TRANSFORM _api STRIP)
  list(REMOVE_DUPLICATES _api)
  list(SORT _api)
  list(LENGTH _api _count)
  if(_count EQUAL 0)
    message(FATAL_ERROR "attracker: no at_* symbol defined in ${STATIC_IN}")
  endif()
  list(JOIN _api "\n" _api_lines)
  file(WRITE "${_keep}" "${_api_lines}\n")

  run("${OBJCOPY}" "--keep-global-symbols=${_keep}" "${_merged}" "${_object}")
  file(REMOVE "${_stripped}" "${_merged}")

  # Build next to the target and rename, so a failed step never leaves a
  # half-written archive for the next link to pick up.
  set(_tmp_archive "${STATIC_OUT}.tmp")
  file(REMOVE "${_tmp_archive}")
  run("${AR}" rcs "${_tmp_archive}" "${_object}")
  file(RENAME "${_tmp_archive}" "${STATIC_OUT}")
  file(REMOVE "${_object}")
else()
  run("${CMAKE_COMMAND}" -E copy "${STATIC_IN}" "${STATIC_OUT}")
endif()

# --- import library (Windows DLL) ---------------------------------------------
if(IMPLIB_IN)
  run("${CMAKE_COMMAND}" -E copy "${IMPLIB_IN}" "${SHARED_OUT_DIR}")
endif()

# --- shared ------------------------------------------------------------------
set(soname "")
if(READELF)
  execute_process(COMMAND "${READELF}" -d "${SHARED_IN}"
    OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND dynamic MATCHES "\\(SONAME\\)[^[\n]*\\[([^]\n]+)\\]")
    set(soname "${CMAKE_MATCH_1}")
  endif()
endif()

file(GLOB _old "${SHARED_OUT_DIR}/${SHARED_NAME}" "${SHARED_OUT_DIR}/${SHARED_NAME}.*")
if(_old)
  file(REMOVE ${_old})
endif()
if(soname STREQUAL "" OR soname STREQUAL SHARED_NAME)
  run("${CMAKE_COMMAND}" -E copy "${SHARED_IN}" "${SHARED_OUT_DIR}/${SHARED_NAME}")
else()
  set(_real "${SHARED_NAME}.${VERSION}")
  run("${CMAKE_COMMAND}" -E copy "${SHARED_IN}" "${SHARED_OUT_DIR}/${_real}")
  if(NOT soname STREQUAL _real)
    file(CREATE_LINK "${_real}" "${SHARED_OUT_DIR}/${soname}" SYMBOLIC)
  endif()
  file(CREATE_LINK "${soname}" "${SHARED_OUT_DIR}/${SHARED_NAME}" SYMBOLIC)
endif()
