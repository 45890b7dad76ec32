# ctest's unity_full_aot: the Unity binding's test program compiled ahead of
# time in full (`mono --aot=full`) and run with `mono --full-aot`, where nothing
# may be JIT-compiled: like IL2CPP, a native-to-managed callback then works only
# when its method is marked [MonoPInvokeCallback].
#
#   cmake -DMONO=/usr/bin/mono-sgen -DFRAMEWORK_DIR=/usr/lib/mono/4.5
#         -DMONO_CONFIG=/etc/mono/config -DMONO_NATIVE=/usr/lib/libmono-native.so
#         -DPREFIX=<private runtime dir> -DEXE=<AttrackerTests.exe>
#         -DLIBRARY_DIR=<dir of libattracker.so> -DARGS=<|-separated arguments>
#         -P FullAot.cmake
#
# The AOT images (*.dll.so) are written beside their assemblies, so the runtime
# is a private copy: PREFIX/bin/mono finds PREFIX/lib/mono/4.5 and
# PREFIX/etc/mono/config by itself. The framework images are kept between runs
# and rebuilt when the runtime or an assembly changes; the test program's image
# is rebuilt every run.

cmake_minimum_required(VERSION 3.20)

foreach(var MONO FRAMEWORK_DIR MONO_CONFIG MONO_NATIVE PREFIX EXE LIBRARY_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "FullAot.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" ARGS "${ARGS}")
string(TIMESTAMP started "%s")

set(fw "${PREFIX}/lib/mono/4.5")

# 1. The private runtime. A different mono binary invalidates every image.
set(runtime_changed TRUE)
if(EXISTS "${PREFIX}/bin/mono")
  file(SHA256 "${MONO}" want)
  file(SHA256 "${PREFIX}/bin/mono" have)
  if(want STREQUAL have)
    set(runtime_changed FALSE)
  endif()
endif()
if(runtime_changed)
  file(REMOVE_RECURSE "${PREFIX}")
endif()
file(MAKE_DIRECTORY "${PREFIX}/bin" "${fw}" "${PREFIX}/etc/mono" "${PREFIX}/app")
file(GLOB dlls "${FRAMEWORK_DIR}/*.dll") # symlinks into the GAC: copied as files
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${MONO}" "${PREFIX}/bin/mono"
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different ${dlls} "${fw}/"
  COMMAND_ERROR_IS_FATAL ANY)
# The dllmap (libc, System.Native -> $mono_libdir/libmono-native.so).
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${MONO_CONFIG}" "${PREFIX}/etc/mono/config"
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${MONO_NATIVE}" "${PREFIX}/lib/libmono-native.so"
  COMMAND_ERROR_IS_FATAL ANY)

# Assemblies are found in the private framework directory (the GAC is not copied).
set(ENV{MONO_PATH} "${fw}")

function(aot_compile assembly strict)
  execute_process(
    COMMAND "${PREFIX}/bin/mono" --aot=full "${assembly}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE log
    ERROR_VARIABLE log)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mono --aot=full ${assembly} failed (${rc}):\n${log}")
  endif()
  if(NOT strict)
    return()
  endif()
  # A method the AOT compiler skipped would need the JIT at run time.
  string(REGEX MATCHALL "(Unable to compile|Could not load)[^\n]*" skipped "${log}")
  if(skipped)
    string(REPLACE ";" "\n" skipped "${skipped}")
    message(FATAL_ERROR "mono --aot=full ${assembly} skipped methods:\n${skipped}")
  endif()
endfunction()

# 2. The framework (mscorlib first: the others need its image), once.
list(SORT dlls)
list(FIND dlls "${FRAMEWORK_DIR}/mscorlib.dll" corlib)
if(corlib LESS 0)
  message(FATAL_ERROR "no mscorlib.dll in ${FRAMEWORK_DIR}")
endif()
list(REMOVE_ITEM dlls "${FRAMEWORK_DIR}/mscorlib.dll")
set(compiled 0)
foreach(dll "${FRAMEWORK_DIR}/mscorlib.dll" ${dlls})
  get_filename_component(name "${dll}" NAME)
  if("${fw}/${name}" IS_NEWER_THAN "${fw}/${name}.so")
    message(STATUS "mono --aot=full ${name}")
    aot_compile("${fw}/${name}" FALSE)
    math(EXPR compiled "${compiled} + 1")
  endif()
endforeach()
string(TIMESTAMP framework_done "%s")
math(EXPR framework_seconds "${framework_done} - ${started}")
message(STATUS "framework: ${compiled} assemblies compiled ahead of time (${framework_seconds} s)")

# 3. The test program, every run.
get_filename_component(exe_name "${EXE}" NAME)
file(REMOVE "${PREFIX}/app/${exe_name}.so")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E copy "${EXE}" "${PREFIX}/app/${exe_name}"
  COMMAND_ERROR_IS_FATAL ANY)
aot_compile("${PREFIX}/app/${exe_name}" TRUE)

# 4. Run it without a JIT.
set(ENV{LD_LIBRARY_PATH} "${LIBRARY_DIR}")
execute_process(
  COMMAND "${PREFIX}/bin/mono" --full-aot "${PREFIX}/app/${exe_name}" ${ARGS}
  RESULT_VARIABLE rc)
string(TIMESTAMP finished "%s")
math(EXPR total "${finished} - ${started}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mono --full-aot ${exe_name} failed (${rc}) after ${total} s")
endif()
message(STATUS "unity_full_aot: passed in ${total} s (framework AOT ${framework_seconds} s)")
