# The test collector (examples/collector.rs), built by cargo into the library's
# target dir, for the tests and examples that deliver to it:
#
#   attracker_collector      the custom target (depend on it)
#   ATTRACKER_COLLECTOR      the path of the binary
#
# Always run: cargo's own check makes it a no-op when nothing changed.
set(ATTRACKER_COLLECTOR "${ATTRACKER_CARGO_TARGET_DIR}/release/examples/collector${CMAKE_EXECUTABLE_SUFFIX}")
add_custom_target(attracker_collector
  COMMAND "${CMAKE_COMMAND}" -E env ${ATTRACKER_CARGO_ENV}
          "${CARGO}" build --release --locked --example collector
          --manifest-path "${PROJECT_SOURCE_DIR}/Cargo.toml"
          --target-dir "${ATTRACKER_CARGO_TARGET_DIR}"
  BYPRODUCTS "${ATTRACKER_COLLECTOR}"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Building the test collector (cargo build --release --example collector)"
  USES_TERMINAL
  VERBATIM)
# One cargo at a time on the shared target dir.
add_dependencies(attracker_collector attracker_cargo)
