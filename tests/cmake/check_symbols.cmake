# Symbol hygiene of the built libraries (cmake -P). Fails unless:
#   - the shared library's dynamic symbol table defines only at_* symbols
#     (no sqlite3_*, no Rust internals);
#   - the post-processed static archive defines only at_* global symbols, the
#     same set as the shared library, and has no undefined reference to
#     SQLite or Rust-mangled symbols (all resolved inside the archive);
#   - the shared library's SONAME is libattracker.so.0.
# Also prints how many global symbols cargo's own archive had, for contrast.
#
# Variables: NM READELF SHARED STATIC CARGO_STATIC
cmake_minimum_required(VERSION 3.20)

# Names of the symbols `nm <args> <file>` lists (posix format: "name type ...").
function(symbols out file)
  execute_process(COMMAND "${NM}" ${ARGN} --format=posix "${file}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${ARGN} ${file} failed (${rc}):\n${err}")
  endif()
  # Archive member headers ("lib.a[x.o]:") have no type letter and drop out.
  string(REGEX MATCHALL "[^\n ]+ [A-Za-z][^\n]*" lines "${text}")
  list(TRANSFORM lines REPLACE " .*" "")
  list(REMOVE_DUPLICATES lines)
  list(SORT lines)
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

function(expect_only_api what names)
  list(LENGTH names count)
  if(count EQUAL 0)
    message(FATAL_ERROR "${what}: no symbol at all")
  endif()
  set(others "${names}")
  list(FILTER others EXCLUDE REGEX "^at_")
  if(others)
    list(LENGTH others n)
    list(SUBLIST others 0 20 some)
    message(FATAL_ERROR "${what}: ${n} symbols outside the at_* API, e.g.:\n  ${some}")
  endif()
  message(STATUS "${what}: ${count} symbols, all at_*")
endfunction()

# Shared library.
symbols(dynamic "${SHARED}" -D --defined-only)
expect_only_api("${SHARED} (nm -D --defined-only)" "${dynamic}")
execute_process(COMMAND "${READELF}" -d "${SHARED}" OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
# build.rs gives it the SONAME libattracker.so.<major>.
set(soname "")
if(dyn MATCHES "\\(SONAME\\)[^[\n]*\\[([^]\n]+)\\]")
  set(soname "${CMAKE_MATCH_1}")
endif()
if(soname STREQUAL "libattracker.so.0")
  message(STATUS "${SHARED}: SONAME ${soname}")
else()
  message(FATAL_ERROR "${SHARED}: SONAME is not libattracker.so.0:\n${dyn}")
endif()


# Static archive.
symbols(globals "${STATIC}" -g --defined-only)
expect_only_api("${STATIC} (nm -g --defined-only)" "${globals}")
if(NOT globals STREQUAL dynamic)
  set(only_static "${globals}")
  list(REMOVE_ITEM only_static ${dynamic})
  set(only_shared "${dynamic}")
  list(REMOVE_ITEM only_shared ${globals})
  message(FATAL_ERROR "the two libraries export different APIs:\n"
    "  only in the archive: ${only_static}\n  only in the shared library: ${only_shared}")
endif()
symbols(undefined "${STATIC}" -u)
set(internal "${undefined}")
list(FILTER internal INCLUDE REGEX "^(sqlite3|_R|_ZN|__rust|rust_)")
if(internal)
  message(FATAL_ERROR "${STATIC} references internal symbols it should define:\n  ${internal}")
endif()
list(LENGTH undefined n)
message(STATUS "${STATIC}: ${n} undefined symbols, all external (libc, libcurl, libgcc_s)")

# For contrast: cargo's archive as it comes. Counted with readelf, not nm:
# its Rust objects embed LLVM bitcode (.llvmbc), and binutils' nm hands them
# to an installed LLVM plugin (clang's LLVMgold) that may not read this
# rustc's bitcode and then reports "no symbols".
if(EXISTS "${CARGO_STATIC}")
  execute_process(COMMAND "${READELF}" -sW "${CARGO_STATIC}"
    OUTPUT_VARIABLE table RESULT_VARIABLE rc ERROR_QUIET)
  # "Num: Value Size Type Bind Vis Ndx Name": defined GLOBAL or WEAK symbols.
  string(REGEX MATCHALL "[0-9]+ [A-Z]+ +(GLOBAL|WEAK) +[A-Z]+ +[0-9]+ [^\n]+" raw "${table}")
  list(TRANSFORM raw REPLACE "^.* " "")
  list(REMOVE_DUPLICATES raw)
  list(LENGTH raw n_raw)
  set(sqlite "${raw}")
  list(FILTER sqlite INCLUDE REGEX "^sqlite3")
  list(LENGTH sqlite n_sqlite)
  message(STATUS "for contrast, cargo's ${CARGO_STATIC}: ${n_raw} global symbols, ${n_sqlite} of them sqlite3*")
endif()
