# Builds the Rust crate with cargo and exposes it as two IMPORTED targets:
#
#   attracker::static   libattracker.a, plus the native libraries it needs
#   attracker::shared   libattracker.so
#
# Both carry the include directory and depend on the custom target
# attracker_cargo, so anything linking them builds the crate first.

find_program(CARGO cargo
  HINTS "$ENV{CARGO_HOME}/bin" "$ENV{HOME}/.cargo/bin"
  REQUIRED)

# A target dir of our own: a fresh build directory always works, and cargo
# never fights over target/ with a developer running cargo by hand.
set(ATTRACKER_CARGO_TARGET_DIR "${PROJECT_BINARY_DIR}/cargo")
set(_attracker_out "${ATTRACKER_CARGO_TARGET_DIR}/release")
set(ATTRACKER_STATIC_LIBRARY "${_attracker_out}/${CMAKE_STATIC_LIBRARY_PREFIX}attracker${CMAKE_STATIC_LIBRARY_SUFFIX}")
set(ATTRACKER_SHARED_LIBRARY "${_attracker_out}/${CMAKE_SHARED_LIBRARY_PREFIX}attracker${CMAKE_SHARED_LIBRARY_SUFFIX}")

file(GLOB_RECURSE _attracker_sources CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/src/*.rs"
  "${PROJECT_SOURCE_DIR}/src/store/sql/*.sql")

# cargo does its own dependency tracking and only rewrites the libraries when
# they change, so the command's output is a stamp and the libraries are
# byproducts (Ninja needs to know who makes them).
set(_attracker_stamp "${PROJECT_BINARY_DIR}/attracker_cargo.stamp")
add_custom_command(
  OUTPUT "${_attracker_stamp}"
  BYPRODUCTS "${ATTRACKER_STATIC_LIBRARY}" "${ATTRACKER_SHARED_LIBRARY}"
  COMMAND "${CARGO}" build --release
          --manifest-path "${PROJECT_SOURCE_DIR}/Cargo.toml"
          --target-dir "${ATTRACKER_CARGO_TARGET_DIR}" --locked
  COMMAND "${CMAKE_COMMAND}" -E touch "${_attracker_stamp}"
  DEPENDS
    ${_attracker_sources}
    "${PROJECT_SOURCE_DIR}/Cargo.toml"
    "${PROJECT_SOURCE_DIR}/Cargo.lock"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Building the attracker Rust library (cargo build --release)"
  USES_TERMINAL
  VERBATIM)
add_custom_target(attracker_cargo DEPENDS "${_attracker_stamp}")

# Imported targets are directory-scoped: make Threads::Threads global so a
# parent project that add_subdirectory()s us can link attracker::static.
if(NOT TARGET Threads::Threads)
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  find_package(Threads REQUIRED)
  set_target_properties(Threads::Threads PROPERTIES IMPORTED_GLOBAL TRUE)
endif()

# What the staticlib needs from the system, as printed on Linux by
#   cargo rustc --release --lib --crate-type staticlib -- --print native-static-libs
#   -> -lcurl -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# (Threads::Threads stands for -lpthread; curl is the system libcurl that
# curl-sys found with pkg-config). Re-check after changing dependencies.
set(ATTRACKER_NATIVE_STATIC_LIBS curl gcc_s util rt Threads::Threads m dl c)

add_library(attracker::static STATIC IMPORTED GLOBAL)
set_target_properties(attracker::static PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_STATIC_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include"
  INTERFACE_LINK_LIBRARIES "${ATTRACKER_NATIVE_STATIC_LIBS}")
add_dependencies(attracker::static attracker_cargo)

# cargo's cdylib has no SONAME; without IMPORTED_NO_SONAME the linker would
# record the absolute build path as the library's name in every executable.
add_library(attracker::shared SHARED IMPORTED GLOBAL)
set_target_properties(attracker::shared PROPERTIES
  IMPORTED_LOCATION "${ATTRACKER_SHARED_LIBRARY}"
  IMPORTED_NO_SONAME TRUE
  INTERFACE_INCLUDE_DIRECTORIES "${PROJECT_SOURCE_DIR}/include")
add_dependencies(attracker::shared attracker_cargo)
