# Windows x86_64 with MinGW-w64 (x86_64-w64-mingw32-gcc, Debian's
# gcc-mingw-w64-x86-64, when installed; otherwise the host compiler stands
# in, unchecked: tests/cmake/cross_configure.cmake only configures).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
find_program(_cross_cc x86_64-w64-mingw32-gcc)
if(_cross_cc)
  set(CMAKE_C_COMPILER "${_cross_cc}")
  find_program(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
else()
  set(CMAKE_C_COMPILER cc)
  set(CMAKE_C_COMPILER_WORKS TRUE)
endif()
