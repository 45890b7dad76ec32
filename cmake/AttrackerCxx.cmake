# C++ programs built with the wrapper (bindings/cpp/include/at_tracker.hpp):
# C++17, warnings as errors, linked against the static library and depending on
# the test collector. Included by bindings/cpp/CMakeLists.txt (the wrapper's
# tests) and examples-cpp/CMakeLists.txt (the demo).
#
#   attracker_cpp_program(<target> <sources...>)

enable_language(CXX)
find_package(Threads REQUIRED)

set(ATTRACKER_CPP_TEST_TIMEOUT 180 CACHE STRING "ctest timeout of each C++ wrapper test, in seconds")
set(ATTRACKER_CPP_WARNINGS -Wall -Wextra -Werror -pedantic)

function(attracker_cpp_program name)
  add_executable(${name} ${ARGN})
  set_target_properties(${name} PROPERTIES
    CXX_STANDARD 17
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
  target_compile_options(${name} PRIVATE ${ATTRACKER_CPP_WARNINGS})
  target_link_libraries(${name} PRIVATE attracker::static Threads::Threads)
  add_dependencies(${name} attracker_collector)
endfunction()
