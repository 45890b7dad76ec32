# Linux on aarch64, as a cross toolchain file says it (the cross compiler is
# aarch64-linux-gnu-gcc when installed; otherwise the host compiler stands in,
# unchecked: tests/cmake/cross_configure.cmake only configures).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
find_program(_cross_cc aarch64-linux-gnu-gcc)
if(_cross_cc)
  set(CMAKE_C_COMPILER "${_cross_cc}")
else()
  set(CMAKE_C_COMPILER cc)
  set(CMAKE_C_COMPILER_WORKS TRUE)
endif()
