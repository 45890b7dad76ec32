# ctest host_tools_missing_are_named: on a machine without GNUstep, clang or
# mono (simulated by searching no path at all), cmake/AttrackerHostTools.cmake
# names each missing tool with the Debian packages to install, so the top-level
# configure skips that host's directory with that message instead of failing.
#
#   cmake -DMODULE=<cmake/AttrackerHostTools.cmake> -P host_tools.cmake
set(CMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH OFF)
set(CMAKE_FIND_USE_CMAKE_SYSTEM_PATH OFF)
set(CMAKE_FIND_USE_CMAKE_ENVIRONMENT_PATH OFF)
include("${MODULE}")

attracker_host_tools_missing(objc bindings/objc)
foreach(needle "GNUstep (apt-get install gnustep-make" "clang (apt-get install clang)")
  string(FIND "${objc}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "bindings/objc without tools: '${objc}' does not name '${needle}'")
  endif()
endforeach()

attracker_host_tools_missing(unity bindings/unity)
string(FIND "${unity}" "mono (apt-get install mono-mcs mono-runtime)" at)
if(at EQUAL -1)
  message(FATAL_ERROR "bindings/unity without tools: '${unity}' does not name mono")
endif()

attracker_host_tools_missing(other examples-c)
if(NOT other STREQUAL "")
  message(FATAL_ERROR "a directory that needs no host tool reported: '${other}'")
endif()
message(STATUS "host tools: missing ones are named (objc: ${objc}; unity: ${unity})")
