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

# A target dir of our own by default: a fresh build directory always works, and
# cargo never fights over target/ with a developer running cargo by hand. A
# cache variable so that another build of the same sources (tests/cmake's
# consumer projects, a second build with ATTRACKER_SHARED=ON) can point at an
# existing one and find the crate already built.
set(ATTRACKER_CARGO_TARGET_DIR "${PROJECT_BINARY_DIR}/cargo" CACHE PATH
  "cargo --target-dir for the attracker crate")
set(_attracker_out "${ATTRACKER_CARGO_TARGET_DIR}/release")
set(ATTRACKER_CARGO_STATIC_LIBRARY "${_attracker_out}/${CMAKE_STATIC_LIBRARY_PREFIX}attracker${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(ATTRACKER_CARGO_SHARED_LIBRARY "${_attracker_out}/${CMAKE_SHARED_LIBRARY_PREFIX}attracker${CMAKE_SHARED_LIBRARY_SUFFIX}")

# The libraries CMake users link: post-processed copies of cargo's.
set(ATTRACKER_LIBRARY_DIR "${PROJECT_BINARY_DIR}/lib")
set(ATTRACKER_STATIC_LIBRARY "${ATTRACKER_LIBRARY_DIR}/${CMAKE_STATIC_LIBRARY_PREFIX}attracker${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(ATTRACKER_SHARED_NAME "${CMAKE_SHARED_LIBRARY_PREFIX}attracker${CMAKE_SHARED_LIBRARY_SUFFIX}")
# Always this name: the real file, or a symlink to it when the library has a
# SONAME (see AttrackerPostBuild.cmake).
set(ATTRACKER_SHARED_LIBRARY "${ATTRACKER_LIBRARY_DIR}/${ATTRACKER_SHARED_NAME}")

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
# The cargo command must stay a plain `cargo build --release`: other
# directories run `cargo build --release --example ...` on the same target
# dir, and any difference in the library's rustc flags (RUSTFLAGS, or
# `cargo rustc -- <args>`) would make the two rebuild the crate in turn on
# every build. That is why no SONAME is passed from here: the crate's build.rs
# is the place for it (AttrackerPostBuild.cmake, "Shared").
set(_attracker_stamp "${PROJECT_BINARY_DIR}/attracker_cargo.stamp")
add_custom_command(
  OUTPUT "${_attracker_stamp}"
  BYPRODUCTS
    "${ATTRACKER_CARGO_STATIC_LIBRARY}" "${ATTRACKER_CARGO_SHARED_LIBRARY}"
    "${ATTRACKER_STATIC_LIBRARY}" "${ATTRACKER_SHARED_LIBRARY}"
  COMMAND "${CARGO}" build --release
          --manifest-path "${PROJECT_SOURCE_DIR}/Cargo.toml"
          --target-dir "${ATTRACKER_CARGO_TARGET_DIR}" --locked
  COMMAND "${CMAKE_COMMAND}"
          "-DSTATIC_IN=${ATTRACKER_CARGO_STATIC_LIBRARY}"
          "-DSTATIC_OUT=${ATTRACKER_STATIC_LIBRARY}"
          "-DSHARED_IN=${ATTRACKER_CARGO_SHARED_LIBRARY}"
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
  COMMENT "Building the attracker Rust library (cargo build --release)"
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
# CMake's FindCURL: Debian's libcurl4-openssl-dev ships no CURLConfig.cmake,
# and FindCURL finds the shared libcurl with or without pkg-config.
if(NOT TARGET CURL::libcurl)
  find_package(CURL REQUIRED)
  set_target_properties(CURL::libcurl PROPERTIES IMPORTED_GLOBAL TRUE)
endif()

# What the staticlib needs from the system, as printed on Linux by
#   cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs
#   -> -lcurl -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# (curl is the system libcurl that curl-sys found with pkg-config; -lpthread
# is Threads::Threads, -lc is implicit). Re-check after changing dependencies;
# AttrackerInstall.cmake exports the same list.
set(ATTRACKER_STATIC_SYSTEM_LIBS dl m rt util gcc_s)
set(ATTRACKER_STATIC_LINK_LIBS
  "$<LINK_ONLY:CURL::libcurl>" "$<LINK_ONLY:Threads::Threads>" ${ATTRACKER_STATIC_SYSTEM_LIBS})

add_library(attracker::static STATIC IMPORTED GLOBAL)
set_target_properties(attracker::static PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_STATIC_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include"
  INTERFACE_LINK_LIBRARIES "${ATTRACKER_STATIC_LINK_LIBS}")
add_dependencies(attracker::static attracker_cargo)

# IMPORTED_NO_SONAME: CMake links it as `-L<dir> -lattracker`, so the linker
# records the library's SONAME when it has one, and otherwise the bare name
# libattracker.so instead of the absolute build path. Right either way.
add_library(attracker::shared SHARED IMPORTED GLOBAL)
set_target_properties(attracker::shared PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_SHARED_LIBRARY}"
  IMPORTED_NO_SONAME TRUE
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include")
add_dependencies(attracker::shared attracker_cargo)

if(ATTRACKER_SHARED)
  add_library(attracker::attracker ALIAS attracker::shared)
else()
  add_library(attracker::attracker ALIAS attracker::static)
endif()
