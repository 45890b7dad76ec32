# Builds the Rust crate with cargo and exposes it as IMPORTED targets:
#
#   attracker::static     libattracker.a, plus the native libraries it needs
#   attracker::shared     libattracker.so
#   attracker::attracker  one of the two, chosen by ATTRACKER_SHARED
#
# All carry the include directory and depend on the custom target
# attracker_cargo, so anything linking them builds the crate first.
#
# The libraries are post-processed copies of cargo's, in ${ATTRACKER_LIBRARY_DIR}
# (see AttrackerPostBuild.cmake): on ELF platforms (Linux) the static archive
# exports only at_*. Install rules (AttrackerInstall.cmake) take them from there.

find_program(CARGO cargo
  HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin"
  REQUIRED)

# libcurl is the default transport. Without it (iOS has no libcurl; Android
# would need a libcurl and OpenSSL built for the target) every tracker needs
# a host transport (at_config_set_transport).
if(CMAKE_SYSTEM_NAME MATCHES "^(iOS|tvOS|visionOS|Android)$")
  set(_attracker_curl_default OFF)
else()
  set(_attracker_curl_default ON)
endif()
option(ATTRACKER_CURL "Build the libcurl transport (OFF: --no-default-features, the host must set a transport)"
  ${_attracker_curl_default})

# The Rust target(s) and the static archive's system libraries
# (ATTRACKER_RUST_TARGETS, ATTRACKER_RUST_CROSS, ATTRACKER_STATIC_SYSTEM_LIBS).
include(AttrackerRustTarget)

# A target dir of our own by default: a fresh build directory always works, and
# cargo never fights over target/ with a developer running cargo by hand. A
# cache variable so that another build of the same sources (tests/cmake's
# consumer projects, a second build with ATTRACKER_SHARED=ON) can point at an
# existing one and find the crate already built.
set(ATTRACKER_CARGO_TARGET_DIR "${PROJECT_BINARY_DIR}/cargo" CACHE PATH
  "cargo --target-dir for the attracker crate")

# cargo's file names for a target (not CMake's: MinGW's CMake prefixes DLLs
# with "lib", cargo does not).
function(_attracker_cargo_names target)
  if(target MATCHES "-windows-msvc$")
    set(static attracker.lib)
    set(shared attracker.dll)
    set(implib attracker.dll.lib)
  elseif(target MATCHES "-windows-")
    set(static libattracker.a)
    set(shared attracker.dll)
    set(implib libattracker.dll.a)
  elseif(target MATCHES "-apple-")
    set(static libattracker.a)
    set(shared libattracker.dylib)
    set(implib "")
  else()
    set(static libattracker.a)
    set(shared libattracker.so)
    set(implib "")
  endif()
  set(_static_name "${static}" PARENT_SCOPE)
  set(_shared_name "${shared}" PARENT_SCOPE)
  set(_implib_name "${implib}" PARENT_SCOPE)
endfunction()

# The cargo profile: release (speed), or mobile (size: opt-level "z", README
# "Size"). Any profile of Cargo.toml works; cargo writes it to <dir>/<profile>.
set(ATTRACKER_CARGO_PROFILE "release" CACHE STRING
  "cargo profile for the attracker crate (release, or mobile for size)")
if(NOT ATTRACKER_CARGO_PROFILE MATCHES "^[A-Za-z0-9_-]+$" OR ATTRACKER_CARGO_PROFILE MATCHES "^(dev|test|bench)$")
  message(FATAL_ERROR "attracker: ATTRACKER_CARGO_PROFILE '${ATTRACKER_CARGO_PROFILE}': use release or mobile")
endif()

list(GET ATTRACKER_RUST_TARGETS 0 _attracker_first_target)
_attracker_cargo_names("${_attracker_first_target}")
set(ATTRACKER_STATIC_NAME "${_static_name}")
set(ATTRACKER_SHARED_NAME "${_shared_name}")
set(ATTRACKER_IMPLIB_NAME "${_implib_name}")

# Where cargo puts each target's libraries: <dir>/release for the host build
# (plain `cargo build --release`), <dir>/<triple>/release with --target
# (<profile> instead of release for another ATTRACKER_CARGO_PROFILE).
set(ATTRACKER_CARGO_STATIC_LIBRARIES "")
set(ATTRACKER_CARGO_SHARED_LIBRARIES "")
foreach(_t IN LISTS ATTRACKER_RUST_TARGETS)
  if(ATTRACKER_RUST_CROSS)
    set(_out "${ATTRACKER_CARGO_TARGET_DIR}/${_t}/${ATTRACKER_CARGO_PROFILE}")
  else()
    set(_out "${ATTRACKER_CARGO_TARGET_DIR}/${ATTRACKER_CARGO_PROFILE}")
  endif()
  list(APPEND ATTRACKER_CARGO_STATIC_LIBRARIES "${_out}/${ATTRACKER_STATIC_NAME}")
  list(APPEND ATTRACKER_CARGO_SHARED_LIBRARIES "${_out}/${ATTRACKER_SHARED_NAME}")
endforeach()
list(GET ATTRACKER_CARGO_STATIC_LIBRARIES 0 ATTRACKER_CARGO_STATIC_LIBRARY)
list(GET ATTRACKER_CARGO_SHARED_LIBRARIES 0 ATTRACKER_CARGO_SHARED_LIBRARY)

# The libraries CMake users link: post-processed copies of cargo's.
set(ATTRACKER_LIBRARY_DIR "${PROJECT_BINARY_DIR}/lib")
set(ATTRACKER_STATIC_LIBRARY "${ATTRACKER_LIBRARY_DIR}/${ATTRACKER_STATIC_NAME}")
# Always this name: the real file, or a symlink to it when the library has a
# SONAME (see AttrackerPostBuild.cmake).
set(ATTRACKER_SHARED_LIBRARY "${ATTRACKER_LIBRARY_DIR}/${ATTRACKER_SHARED_NAME}")
if(ATTRACKER_IMPLIB_NAME)
  set(ATTRACKER_IMPORT_LIBRARY "${ATTRACKER_LIBRARY_DIR}/${ATTRACKER_IMPLIB_NAME}")
else()
  set(ATTRACKER_IMPORT_LIBRARY "")
endif()

# The cargo command. For the host, exactly `cargo build --release` (see below);
# for another target, --target and the toolchain's C compiler as the cc
# crate's compiler (the bundled SQLite) and, for GNU-style toolchains, as the
# linker (MSVC's link.exe and Apple's clang are found by rustc itself).
set(ATTRACKER_CARGO_ENV "")
if(ATTRACKER_CARGO_PROFILE STREQUAL "release")
  set(_attracker_cargo_args build --release --locked)
else()
  set(_attracker_cargo_args build --profile ${ATTRACKER_CARGO_PROFILE} --locked)
endif()
if(NOT ATTRACKER_CURL)
  list(APPEND _attracker_cargo_args --no-default-features)
endif()
if(ATTRACKER_RUST_CROSS)
  foreach(_t IN LISTS ATTRACKER_RUST_TARGETS)
    list(APPEND _attracker_cargo_args --target ${_t})
    string(TOUPPER "${_t}" _T)
    string(REPLACE "-" "_" _T "${_T}")
    string(REPLACE "-" "_" _t_ "${_t}")
    if(NOT _t MATCHES "-apple-|-msvc$" AND CMAKE_C_COMPILER)
      list(APPEND ATTRACKER_CARGO_ENV "CARGO_TARGET_${_T}_LINKER=${CMAKE_C_COMPILER}")
      set(_cflags "")
      if(CMAKE_C_COMPILER_TARGET)
        list(APPEND _cflags "--target=${CMAKE_C_COMPILER_TARGET}")
      endif()
      if(CMAKE_SYSROOT)
        list(APPEND _cflags "--sysroot=${CMAKE_SYSROOT}")
      endif()
      if(_cflags)
        list(JOIN _cflags " " _cflags_str)
        list(APPEND ATTRACKER_CARGO_ENV "CFLAGS_${_t_}=${_cflags_str}")
        list(TRANSFORM _cflags PREPEND "-Clink-arg=")
        list(APPEND _attracker_rustflags_${_t_} ${_cflags})
      endif()
    endif()
    if(NOT _t MATCHES "-msvc$" AND CMAKE_C_COMPILER)
      list(APPEND ATTRACKER_CARGO_ENV "CC_${_t_}=${CMAKE_C_COMPILER}")
      if(CMAKE_AR)
        list(APPEND ATTRACKER_CARGO_ENV "AR_${_t_}=${CMAKE_AR}")
      endif()
    endif()
  endforeach()
endif()
# The libraries name no path of the machine that built them: rustc writes the
# source path of every dependency into panic locations (and debug info), and
# dependencies live under CARGO_HOME (/home/<user>/.cargo/registry/...). They
# are remapped for every target, the host's included, through
# CARGO_TARGET_<TRIPLE>_RUSTFLAGS: the test collector is built with the same
# environment, so the two cargo commands share their artifacts. A RUSTFLAGS
# set in the environment replaces these (cargo's precedence). Paths with
# spaces cannot be passed this way and are left as they are.
if(DEFINED ENV{CARGO_HOME})
  set(_attracker_cargo_home "$ENV{CARGO_HOME}")
elseif(WIN32 AND DEFINED ENV{USERPROFILE})
  set(_attracker_cargo_home "$ENV{USERPROFILE}/.cargo")
else()
  set(_attracker_cargo_home "$ENV{HOME}/.cargo")
endif()
file(TO_NATIVE_PATH "${_attracker_cargo_home}" _attracker_cargo_home)
file(TO_NATIVE_PATH "${ATTRACKER_CARGO_TARGET_DIR}" _attracker_target_native)
file(TO_NATIVE_PATH "${PROJECT_SOURCE_DIR}" _attracker_source_native)
set(ATTRACKER_REMAP_FLAGS "")
foreach(_pair "${_attracker_cargo_home}=/cargo" "${_attracker_target_native}=/target"
              "${_attracker_source_native}=/attracker")
  if(NOT _pair MATCHES " ")
    list(APPEND ATTRACKER_REMAP_FLAGS "--remap-path-prefix=${_pair}")
  endif()
endforeach()
set(_attracker_flag_targets ${ATTRACKER_RUST_TARGETS})
if(NOT ATTRACKER_RUST_CROSS)
  set(_attracker_flag_targets ${ATTRACKER_RUST_HOST})
endif()
foreach(_t IN LISTS _attracker_flag_targets)
  string(TOUPPER "${_t}" _T)
  string(REPLACE "-" "_" _T "${_T}")
  string(REPLACE "-" "_" _t_ "${_t}")
  list(APPEND _attracker_rustflags_${_t_} ${ATTRACKER_REMAP_FLAGS})
  list(JOIN _attracker_rustflags_${_t_} " " _rustflags)
  list(APPEND ATTRACKER_CARGO_ENV "CARGO_TARGET_${_T}_RUSTFLAGS=${_rustflags}")
endforeach()

set(ATTRACKER_CARGO_COMMAND "${CARGO}" ${_attracker_cargo_args}
    --manifest-path "${PROJECT_SOURCE_DIR}/Cargo.toml"
    --target-dir "${ATTRACKER_CARGO_TARGET_DIR}")
list(JOIN ATTRACKER_CARGO_COMMAND " " _attracker_shown)
list(JOIN ATTRACKER_CARGO_ENV " " _attracker_env_shown)
message(STATUS "attracker: Rust target ${ATTRACKER_RUST_TARGETS} (host ${ATTRACKER_RUST_HOST}); "
  "libcurl transport ${ATTRACKER_CURL}")
message(STATUS "attracker: cargo command: ${_attracker_env_shown} ${_attracker_shown}")
message(STATUS "attracker: static library links: ${ATTRACKER_STATIC_SYSTEM_LIBS}")
if(NOT ATTRACKER_CURL)
  message(STATUS "attracker: ATTRACKER_CURL=OFF: built without libcurl; every tracker needs a host "
    "transport (at_config_set_transport), or at_tracker_new fails")
endif()
# The same, for tools and tests (tests/cmake/cross_configure.cmake reads it).
foreach(_list ATTRACKER_RUST_TARGETS ATTRACKER_CARGO_STATIC_LIBRARIES ATTRACKER_CARGO_SHARED_LIBRARIES
              ATTRACKER_STATIC_SYSTEM_LIBS)
  list(JOIN ${_list} " " _attracker_shown_${_list})
endforeach()
file(WRITE "${PROJECT_BINARY_DIR}/attracker-cargo.txt"
  "targets=${_attracker_shown_ATTRACKER_RUST_TARGETS}\n"
  "cross=${ATTRACKER_RUST_CROSS}\n"
  "curl=${ATTRACKER_CURL}\n"
  "env=${_attracker_env_shown}\n"
  "command=${_attracker_shown}\n"
  "static=${_attracker_shown_ATTRACKER_CARGO_STATIC_LIBRARIES}\n"
  "shared=${_attracker_shown_ATTRACKER_CARGO_SHARED_LIBRARIES}\n"
  "implib=${ATTRACKER_IMPORT_LIBRARY}\n"
  "links=${_attracker_shown_ATTRACKER_STATIC_SYSTEM_LIBS}\n")

if(CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
  # Needs GNU-compatible ld (-r --force-group-allocation), objcopy, nm, ar.
  option(ATTRACKER_LOCALIZE_STATIC "Make only the at_* symbols of libattracker.a global" ON)
else()
  # Untested outside Linux: the static library is used as cargo makes it.
  set(ATTRACKER_LOCALIZE_STATIC OFF)
endif()

if(ATTRACKER_LOCALIZE_STATIC)
  foreach(_tool CMAKE_LINKER CMAKE_OBJCOPY CMAKE_NM CMAKE_AR)
    if(NOT ${_tool})
      message(FATAL_ERROR "attracker: ATTRACKER_LOCALIZE_STATIC needs ${_tool} (binutils); "
                          "install binutils or set ATTRACKER_LOCALIZE_STATIC=OFF")
    endif()
  endforeach()
endif()
if(NOT CMAKE_READELF AND CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
  find_program(CMAKE_READELF readelf)
endif()

file(GLOB_RECURSE _attracker_sources CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/*.rs"
  "${PROJECT_SOURCE_DIR}/src/store/sql/*.sql")
# A build script, if the crate gets one (globbed so that adding it is noticed).
file(GLOB _attracker_build_script CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/build.rs")

# cargo does its own dependency tracking and only rewrites the libraries when
# they change, so the command's output is a stamp and the libraries are
# byproducts (Ninja needs to know who makes them).
#
# The cargo command must stay a plain `cargo build --release` with the same
# environment (ATTRACKER_CARGO_ENV) wherever it runs on this target dir: the
# test collector is built there with `--example collector`, and any difference
# in the library's rustc flags (RUSTFLAGS, or `cargo rustc -- <args>`) would
# make the two rebuild the crate in turn on every build. That is why no SONAME
# is passed from here: the crate's build.rs is the place for it
# (AttrackerPostBuild.cmake, "Shared").
# Several Apple targets are made one universal library with lipo.
list(LENGTH ATTRACKER_RUST_TARGETS _attracker_ntargets)
set(ATTRACKER_LIPO "")
if(_attracker_ntargets GREATER 1)
  find_program(ATTRACKER_LIPO_PROGRAM lipo REQUIRED)
  set(ATTRACKER_LIPO "${ATTRACKER_LIPO_PROGRAM}")
endif()
# Lists go to the post-build script joined with "|" (one argument each).
list(JOIN ATTRACKER_CARGO_STATIC_LIBRARIES "|" _attracker_static_in)
list(JOIN ATTRACKER_CARGO_SHARED_LIBRARIES "|" _attracker_shared_in)
set(_attracker_implib_in "")
if(ATTRACKER_IMPLIB_NAME)
  get_filename_component(_attracker_cargo_out "${ATTRACKER_CARGO_SHARED_LIBRARY}" DIRECTORY)
  set(_attracker_implib_in "${_attracker_cargo_out}/${ATTRACKER_IMPLIB_NAME}")
endif()
# The release profile keeps line tables (backtraces, and the sanitizer tests'
# suppressions, need them in the build tree); the static archive installed
# for others goes without them and the build paths they hold
# (AttrackerInstall.cmake).
option(ATTRACKER_STRIP_DEBUG "Strip debug information from the installed libraries" ON)

set(_attracker_stamp "${PROJECT_BINARY_DIR}/attracker_cargo.stamp")
add_custom_command(
  OUTPUT "${_attracker_stamp}"
  BYPRODUCTS
    ${ATTRACKER_CARGO_STATIC_LIBRARIES} ${ATTRACKER_CARGO_SHARED_LIBRARIES}
    "${ATTRACKER_STATIC_LIBRARY}" "${ATTRACKER_SHARED_LIBRARY}" ${ATTRACKER_IMPORT_LIBRARY}
  COMMAND "${CMAKE_COMMAND}" -E env ${ATTRACKER_CARGO_ENV} ${ATTRACKER_CARGO_COMMAND}
  COMMAND "${CMAKE_COMMAND}"
          "-DSTATIC_IN=${_attracker_static_in}"
          "-DSTATIC_OUT=${ATTRACKER_STATIC_LIBRARY}"
          "-DSHARED_IN=${_attracker_shared_in}"
          "-DIMPLIB_IN=${_attracker_implib_in}"
          "-DLIPO=${ATTRACKER_LIPO}"
          "-DSHARED_OUT_DIR=${ATTRACKER_LIBRARY_DIR}"
          "-DSHARED_NAME=${ATTRACKER_SHARED_NAME}"
          "-DREADELF=${CMAKE_READELF}"
          "-DVERSION=${PROJECT_VERSION}"
          "-DLOCALIZE=${ATTRACKER_LOCALIZE_STATIC}"
          "-DWORK_DIR=${PROJECT_BINARY_DIR}/attracker_post_build"
          "-DLINKER=${CMAKE_LINKER}"
          "-DOBJCOPY=${CMAKE_OBJCOPY}"
          "-DNM=${CMAKE_NM}"
          "-DAR=${CMAKE_AR}"
          -P "${CMAKE_CURRENT_LIST_DIR}/AttrackerPostBuild.cmake"
  COMMAND "${CMAKE_COMMAND}" -E touch "${_attracker_stamp}"
  DEPENDS
    ${_attracker_sources}
    ${_attracker_build_script}
    "${PROJECT_SOURCE_DIR}/Cargo.toml"
    "${PROJECT_SOURCE_DIR}/Cargo.lock"
    "${CMAKE_CURRENT_LIST_DIR}/AttrackerPostBuild.cmake"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Building the attracker Rust library (cargo build --release, ${ATTRACKER_RUST_TARGETS})"
  USES_TERMINAL
  VERBATIM)
# In ALL: `cmake --build` then `cmake --install` must work even when nothing in
# the build links the library (ATTRACKER_BUILD_TESTS/EXAMPLES off).
add_custom_target(attracker_cargo ALL DEPENDS "${_attracker_stamp}")

# Imported targets are directory-scoped: make Threads::Threads and
# CURL::libcurl global so a parent project that add_subdirectory()s us can link
# attracker::static. (If the parent found them first, they are already visible
# here and stay the parent's.)
if(NOT TARGET Threads::Threads)
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  find_package(Threads REQUIRED)
  set_target_properties(Threads::Threads PROPERTIES IMPORTED_GLOBAL TRUE)
endif()
# libcurl is the system's on Linux and Apple platforms (curl-sys links it);
# on Windows curl-sys builds it into the archive. CMake's FindCURL: Debian's
# libcurl4-openssl-dev ships no CURLConfig.cmake, and FindCURL finds the
# shared libcurl with or without pkg-config.
set(ATTRACKER_SYSTEM_CURL OFF)
if(ATTRACKER_CURL AND NOT ATTRACKER_RUST_TARGETS MATCHES "windows")
  set(ATTRACKER_SYSTEM_CURL ON)
  if(NOT TARGET CURL::libcurl)
    find_package(CURL REQUIRED)
    set_target_properties(CURL::libcurl PROPERTIES IMPORTED_GLOBAL TRUE)
  endif()
endif()

# What the staticlib needs from the system: the system libcurl, threads and
# ATTRACKER_STATIC_SYSTEM_LIBS (rustc --print native-static-libs for the
# target, AttrackerRustTarget.cmake). AttrackerInstall.cmake exports the same.
set(ATTRACKER_STATIC_LINK_LIBS "$<LINK_ONLY:Threads::Threads>" ${ATTRACKER_STATIC_SYSTEM_LIBS})
if(ATTRACKER_SYSTEM_CURL)
  list(PREPEND ATTRACKER_STATIC_LINK_LIBS "$<LINK_ONLY:CURL::libcurl>")
endif()

add_library(attracker::static STATIC IMPORTED GLOBAL)
set_target_properties(attracker::static PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_STATIC_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include"
  INTERFACE_LINK_LIBRARIES "${ATTRACKER_STATIC_LINK_LIBS}")
add_dependencies(attracker::static attracker_cargo)

# IMPORTED_NO_SONAME: CMake links it as `-L<dir> -lattracker`, so the linker
# records the library's SONAME when it has one, and otherwise the bare name
# libattracker.so instead of the absolute build path. Right either way. A
# Windows DLL is linked through its import library.
add_library(attracker::shared SHARED IMPORTED GLOBAL)
set_target_properties(attracker::shared PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_SHARED_LIBRARY}"
  IMPORTED_NO_SONAME TRUE
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include")
if(ATTRACKER_IMPORT_LIBRARY)
  set_target_properties(attracker::shared PROPERTIES IMPORTED_IMPLIB "${ATTRACKER_IMPORT_LIBRARY}")
endif()
add_dependencies(attracker::shared attracker_cargo)

if(ATTRACKER_SHARED)
  add_library(attracker::attracker ALIAS attracker::shared)
else()
  add_library(attracker::attracker ALIAS attracker::static)
endif()

# The C++ wrapper (at_tracker.hpp) needs C++17: a usage requirement of its
# own target, so C programs linking attracker::attracker need no C++ at all.
add_library(attracker_cpp INTERFACE)
add_library(attracker::cpp ALIAS attracker_cpp)
target_link_libraries(attracker_cpp INTERFACE attracker::attracker)
target_compile_features(attracker_cpp INTERFACE cxx_std_17)
