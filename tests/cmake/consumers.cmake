# attracker_consumer(<name> <c|cxx|cxx14> <target>): consumer.c (C11) or
# consumer.cpp (C++17; cxx14: a C++14 project, which must get C++17 from
# attracker::cpp's usage requirement) built as executable <name>, linked
# against <target>.
# Shared by the consumer projects; ATTRACKER_EXPECTED_VERSION, when set, is
# compiled in and checked against at_version().
function(attracker_consumer name lang target)
  if(lang STREQUAL "c")
    add_executable(${name} "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/consumer.c")
    set_target_properties(${name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
  elseif(lang STREQUAL "cxx14")
    add_executable(${name} "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/consumer.cpp")
    set_target_properties(${name} PROPERTIES CXX_STANDARD 14 CXX_EXTENSIONS OFF)
  else()
    add_executable(${name} "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/consumer.cpp")
    set_target_properties(${name} PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
  endif()
  target_link_libraries(${name} PRIVATE ${target})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  if(ATTRACKER_EXPECTED_VERSION)
    target_compile_definitions(${name} PRIVATE "ATTRACKER_EXPECTED_VERSION=\"${ATTRACKER_EXPECTED_VERSION}\"")
  endif()
endfunction()
