# The Rust target(s) cargo builds for, from the CMake toolchain, and what the
# static library needs from the system on that target. Included by
# AttrackerCargo.cmake.
#
#   ATTRACKER_RUST_TARGET   cache; empty: derived from the toolchain. One
#                           triple, or several Apple triples (lipo'd into one
#                           universal library: macOS arm64 + x86_64, the iOS
#                           simulator's arm64 + x86_64).
#
# Sets, for AttrackerCargo.cmake:
#   ATTRACKER_RUST_TARGETS        the triples (never empty)
#   ATTRACKER_RUST_HOST           rustc's host triple
#   ATTRACKER_RUST_CROSS          ON unless the one target is the host
#                                 (cargo then runs without --target, as a
#                                 developer's `cargo build --release` does)
#
# The mapping (CMAKE_SYSTEM_NAME, CMAKE_SYSTEM_PROCESSOR, the Android ABI,
# CMAKE_OSX_ARCHITECTURES and CMAKE_OSX_SYSROOT, the compiler's ABI):
#
#   Android  arm64-v8a aarch64-linux-android, armeabi-v7a armv7-linux-androideabi,
#            x86 i686-linux-android, x86_64 x86_64-linux-android
#   iOS      arm64 aarch64-apple-ios; simulator sysroot: arm64
#            aarch64-apple-ios-sim, x86_64 x86_64-apple-ios
#   macOS    arm64 aarch64-apple-darwin, x86_64 x86_64-apple-darwin (both: universal)
#   Windows  MSVC or clang-cl: <arch>-pc-windows-msvc; MinGW: x86_64/i686-pc-windows-gnu,
#            aarch64-pc-windows-gnullvm (llvm-mingw)
#   Linux    <arch>-unknown-linux-gnu (musl when the compiler targets musl),
#            armv7-unknown-linux-gnueabihf

set(ATTRACKER_RUST_TARGET "" CACHE STRING
  "Rust target triple(s) cargo builds for; empty: derived from the CMake toolchain")

# attracker_rust_targets_from_toolchain(): the mapping above (tested alone by
# tests/cmake/rust_target_mapping.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/AttrackerRustTriple.cmake")

find_program(RUSTC rustc HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin" REQUIRED)
execute_process(COMMAND "${RUSTC}" -vV OUTPUT_VARIABLE _attracker_rustc_v RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT _attracker_rustc_v MATCHES "host: ([^\n]+)")
  message(FATAL_ERROR "attracker: `${RUSTC} -vV` did not name the host triple")
endif()
set(ATTRACKER_RUST_HOST "${CMAKE_MATCH_1}")

if(ATTRACKER_RUST_TARGET)
  set(ATTRACKER_RUST_TARGETS ${ATTRACKER_RUST_TARGET})
elseif(NOT CMAKE_CROSSCOMPILING AND NOT CMAKE_OSX_ARCHITECTURES)
  # A native build: the host's toolchain is rustc's host.
  set(ATTRACKER_RUST_TARGETS "${ATTRACKER_RUST_HOST}")
else()
  attracker_rust_targets_from_toolchain(ATTRACKER_RUST_TARGETS)
endif()
list(LENGTH ATTRACKER_RUST_TARGETS _attracker_ntargets)
if(_attracker_ntargets GREATER 1)
  foreach(_t IN LISTS ATTRACKER_RUST_TARGETS)
    if(NOT _t MATCHES "-apple-")
      message(FATAL_ERROR "attracker: several Rust targets (${ATTRACKER_RUST_TARGETS}) "
        "make one universal library with lipo, for Apple targets only")
    endif()
  endforeach()
endif()
if(ATTRACKER_RUST_TARGETS STREQUAL ATTRACKER_RUST_HOST)
  set(ATTRACKER_RUST_CROSS OFF)
else()
  set(ATTRACKER_RUST_CROSS ON)
endif()

# --- what the static library needs from the system ------------------------------
# Rust's own (std: libc, pthread, libgcc_s, ws2_32, ...) as rustc prints them
# for an empty staticlib of the first target:
#   rustc --crate-type staticlib --target <t> --print native-static-libs
# plus the libraries of the crate's C dependencies, which only a build of the
# whole crate would print: the bundled SQLite needs nothing more; libcurl is
# the system's (CURL::libcurl, AttrackerCargo.cmake) except on Windows, where
# curl-sys builds it into the archive and links what its build script names
# (curl-sys build.rs: ws2_32 crypt32 iphlpapi advapi32 secur32 bcrypt).
# ATTRACKER_NATIVE_STATIC_LIBS (cache) overrides the probe, for a target whose
# standard library is not installed where CMake runs.
set(ATTRACKER_NATIVE_STATIC_LIBS "" CACHE STRING
  "Libraries libattracker's static archive needs, as rustc prints them (-lfoo -lbar); empty: probed with rustc --print native-static-libs")

function(attracker_probe_native_static_libs out target)
  set(dir "${PROJECT_BINARY_DIR}/attracker_native_libs_probe/${target}")
  file(MAKE_DIRECTORY "${dir}")
  file(WRITE "${dir}/probe.rs" "// An empty staticlib: rustc prints what Rust's std needs.\n")
  execute_process(
    COMMAND "${RUSTC}" --crate-type staticlib --crate-name attracker_probe --edition 2021
            --target "${target}" --print native-static-libs -o "${dir}/libprobe.a" "${dir}/probe.rs"
    RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "attracker: the Rust standard library for ${target} is not installed "
      "(rustc --print native-static-libs failed). Install it with\n"
      "  rustup target add ${target}\n"
      "or name the static archive's system libraries in ATTRACKER_NATIVE_STATIC_LIBS.\n${stderr}")
  endif()
  if(NOT "${stderr}${stdout}" MATCHES "native-static-libs: ([^\n]*)")
    message(FATAL_ERROR "attracker: rustc printed no native-static-libs line for ${target}:\n${stderr}")
  endif()
  separate_arguments(flags NATIVE_COMMAND "${CMAKE_MATCH_1}")
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

if(ATTRACKER_NATIVE_STATIC_LIBS)
  separate_arguments(_attracker_native_flags NATIVE_COMMAND "${ATTRACKER_NATIVE_STATIC_LIBS}")
else()
  list(GET ATTRACKER_RUST_TARGETS 0 _attracker_first_target)
  attracker_probe_native_static_libs(_attracker_native_flags "${_attracker_first_target}")
endif()

# rustc's flags -> names CMake links: -lfoo / foo.lib -> foo; -framework F
# stays a pair; -lc, libc.lib-free msvcrt and pthread (Threads::Threads) are
# the toolchain's own.
set(ATTRACKER_STATIC_SYSTEM_LIBS "")
set(_attracker_framework OFF)
foreach(_flag IN LISTS _attracker_native_flags)
  if(_attracker_framework)
    list(APPEND ATTRACKER_STATIC_SYSTEM_LIBS "-framework ${_flag}")
    set(_attracker_framework OFF)
  elseif(_flag STREQUAL "-framework")
    set(_attracker_framework ON)
  elseif(_flag MATCHES "^-l(.+)$")
    list(APPEND ATTRACKER_STATIC_SYSTEM_LIBS "${CMAKE_MATCH_1}")
  elseif(_flag MATCHES "^([^-/].*)\\.lib$")
    list(APPEND ATTRACKER_STATIC_SYSTEM_LIBS "${CMAKE_MATCH_1}")
  elseif(_flag MATCHES "^/")
    # MSVC linker options (/defaultlib:...): the compiler driver's business.
  else()
    list(APPEND ATTRACKER_STATIC_SYSTEM_LIBS "${_flag}")
  endif()
endforeach()
if(ATTRACKER_CURL AND ATTRACKER_RUST_TARGETS MATCHES "windows")
  list(APPEND ATTRACKER_STATIC_SYSTEM_LIBS ws2_32 crypt32 iphlpapi advapi32 secur32 bcrypt)
endif()
list(REMOVE_DUPLICATES ATTRACKER_STATIC_SYSTEM_LIBS)
list(REMOVE_ITEM ATTRACKER_STATIC_SYSTEM_LIBS c pthread msvcrt ucrt vcruntime)
