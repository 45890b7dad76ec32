# Test driver (cmake -P): builds other_rust/ (a second Rust staticlib) with
# cargo, then links mixed_link.c with libattracker.a, libother_rust.a and the
# system -lsqlite3 in several orders and runs each program.
#
# With cargo's raw libattracker.a these links fail or misbehave: with
# --whole-archive they stop on ~2000 duplicate symbols (std, compiler_builtins,
# __rust_alloc, rust_eh_personality, ...), and in a plain link the program's
# own sqlite3_* calls resolve to attracker's bundled SQLite instead of the
# system library. The post-processed archive exports only at_*.
#
# Variables: TESTS_DIR WORK_DIR CARGO C_COMPILER INCLUDE_DIR STATIC
#            LINK_LIBS (attracker's system libraries) SQLITE_INCLUDE_DIRS
#            SQLITE_LIBRARIES
cmake_minimum_required(VERSION 3.20)

function(run)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "$ ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${shown}")
  endif()
endfunction()

file(MAKE_DIRECTORY "${WORK_DIR}")

# Offline and locked: the crate has no dependencies. Kept between runs, so
# cargo only rebuilds it when it changes.
set(other_target "${WORK_DIR}/other_rust-target")
run("${CARGO}" build --release --locked --offline --quiet
    --manifest-path "${TESTS_DIR}/other_rust/Cargo.toml" --target-dir "${other_target}")
set(other "${other_target}/release/libother_rust.a")

set(includes "-I${INCLUDE_DIR}")
foreach(dir IN LISTS SQLITE_INCLUDE_DIRS)
  list(APPEND includes "-I${dir}")
endforeach()
set(object "${WORK_DIR}/mixed_link.o")
run("${C_COMPILER}" -std=c11 -Wall -Wextra -Werror ${includes}
    -c "${TESTS_DIR}/mixed_link.c" -o "${object}")

# Link items between the object and attracker's system libraries, per order.
set(order_attracker_first ${STATIC} ${other} ${SQLITE_LIBRARIES})
set(order_sqlite_and_other_first ${SQLITE_LIBRARIES} ${other} ${STATIC})
set(order_whole_archive -Wl,--whole-archive ${STATIC} ${other} -Wl,--no-whole-archive ${SQLITE_LIBRARIES})
foreach(name attracker_first sqlite_and_other_first whole_archive)
  set(exe "${WORK_DIR}/mixed_link_${name}")
  file(REMOVE "${exe}")
  run("${C_COMPILER}" "${object}" ${order_${name}} ${LINK_LIBS} -o "${exe}")
  run("${exe}")
endforeach()
