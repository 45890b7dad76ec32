# Which host integrations can be built and tested on this machine. A missing
# tool skips that host's directory: ctest shows a test of the host's name that
# is skipped with what to install (Debian package names), instead of the
# configure failing for everyone who only wants the library.
#
#   attracker_host_tools_missing(<out> <dir>)  <out>: what is missing, or ""
#   attracker_skip_host(<dir> <missing>)

function(attracker_host_tools_missing out dir)
  set(missing "")
  if(dir MATCHES "objc$")
    find_program(ATTRACKER_HOST_GNUSTEP_CONFIG gnustep-config)
    find_program(ATTRACKER_HOST_CLANG clang)
    if(NOT ATTRACKER_HOST_GNUSTEP_CONFIG)
      list(APPEND missing "GNUstep (apt-get install gnustep-make libgnustep-base-dev libblocksruntime-dev)")
    endif()
    if(NOT ATTRACKER_HOST_CLANG)
      list(APPEND missing "clang (apt-get install clang)")
    endif()
  elseif(dir MATCHES "unity$")
    find_program(ATTRACKER_HOST_MCS mcs)
    find_program(ATTRACKER_HOST_MONO mono)
    if(NOT ATTRACKER_HOST_MCS OR NOT ATTRACKER_HOST_MONO)
      list(APPEND missing "mono (apt-get install mono-mcs mono-runtime)")
    endif()
  elseif(dir MATCHES "cpp$")
    include(CheckLanguage)
    check_language(CXX)
    if(NOT CMAKE_CXX_COMPILER)
      list(APPEND missing "a C++17 compiler (apt-get install g++)")
    endif()
  endif()
  list(JOIN missing ", " missing)
  set(${out} "${missing}" PARENT_SCOPE)
endfunction()

function(attracker_skip_host dir missing)
  string(REPLACE "/" "_" name "${dir}")
  message(STATUS "attracker: ${dir} skipped: install ${missing}")
  add_test(NAME ${name}_skipped
    COMMAND "${CMAKE_COMMAND}" -E echo "skipped: ${dir} needs ${missing}")
  set_tests_properties(${name}_skipped PROPERTIES SKIP_REGULAR_EXPRESSION "skipped:")
endfunction()
