# Test driver (cmake -P) for the consumer projects: each STEP starts from a
# fresh directory under WORK_DIR, configures, builds and runs.
#
#   STEP=subdirectory  subdirectory/ add_subdirectory()s SOURCE_DIR, reusing
#                      the main build's cargo target dir
#   STEP=install       installs FLAVOR (static|shared) into WORK_DIR/prefix-FLAVOR:
#                      from the main build when it is that flavour, otherwise
#                      from a second build of SOURCE_DIR with ATTRACKER_SHARED
#                      flipped (same cargo target dir: nothing recompiled)
#   STEP=find_package  find_package/ against WORK_DIR/prefix-FLAVOR
#   STEP=pkg_config    consumer.c/.cpp compiled with the flags of
#                      `pkg-config --cflags --libs [--static] attracker`
#
# Other variables: TESTS_DIR SOURCE_DIR MAIN_BUILD_DIR MAIN_SHARED
# CARGO_TARGET_DIR GENERATOR C_COMPILER CXX_COMPILER LIBDIR VERSION
# VERSION_FULL PKG_CONFIG READELF
cmake_minimum_required(VERSION 3.20)

# Runs a command, echoing it; fails the test with its output otherwise.
function(run)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUTPUT_VARIABLE;WORKING_DIRECTORY" "")
  if(NOT arg_WORKING_DIRECTORY)
    set(arg_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  string(REPLACE ";" " " shown "${arg_UNPARSED_ARGUMENTS}")
  message(STATUS "$ ${shown}")
  if(arg_OUTPUT_VARIABLE)
    execute_process(COMMAND ${arg_UNPARSED_ARGUMENTS} RESULT_VARIABLE rc
      OUTPUT_VARIABLE out ERROR_VARIABLE out WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
    set(${arg_OUTPUT_VARIABLE} "${out}" PARENT_SCOPE)
  else()
    execute_process(COMMAND ${arg_UNPARSED_ARGUMENTS} RESULT_VARIABLE rc
      WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${shown}\n${out}")
  endif()
endfunction()

function(fresh_dir dir)
  file(REMOVE_RECURSE "${dir}")
  file(MAKE_DIRECTORY "${dir}")
endfunction()

# Same generator and compilers as the main build (attracker itself is C only).
set(attracker_configure_args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_COMPILER=${C_COMPILER}")
set(configure_args ${attracker_configure_args} "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")

set(prefix "${WORK_DIR}/prefix-${FLAVOR}")
if(FLAVOR STREQUAL "shared")
  set(shared ON)
else()
  set(shared OFF)
endif()

# The name a program linked against <library> records: its SONAME, or its
# file name when it has none.
function(needed_name out library)
  run("${READELF}" -d "${library}" OUTPUT_VARIABLE dynamic)
  if(dynamic MATCHES "\\(SONAME\\)[^[\n]*\\[([^]\n]+)\\]")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    get_filename_component(name "${library}" NAME)
    set(${out} "${name}" PARENT_SCOPE)
  endif()
endfunction()

# Checks the DT_NEEDED entries of a consumer: with <shared>, exactly the name
# of <library> (not the build or install path, which would break once moved);
# otherwise no libattracker at all.
function(check_needed exe shared library)
  run("${READELF}" -d "${exe}" OUTPUT_VARIABLE dynamic)
  string(REGEX MATCHALL "\\(NEEDED\\)[^[\n]*\\[[^]\n]*attracker[^]\n]*\\]" needed "${dynamic}")
  if(shared)
    needed_name(expected "${library}")
    if(NOT needed MATCHES "\\[${expected}\\]$")
      message(FATAL_ERROR "${exe} should need ${expected}, needs: ${needed}")
    endif()
    message(STATUS "${exe}: NEEDED ${expected}")
  elseif(needed)
    message(FATAL_ERROR "${exe} is linked statically but needs: ${needed}")
  endif()
endfunction()

# Fails when <file> names a path of the machine that built it: the cargo home
# (dependencies' sources), the source tree or the build tree.
function(check_no_build_paths file)
  if(DEFINED ENV{CARGO_HOME})
    set(cargo_home "$ENV{CARGO_HOME}")
  else()
    set(cargo_home "$ENV{HOME}/.cargo")
  endif()
  foreach(dir "${cargo_home}" "${SOURCE_DIR}" ${ARGN})
    file(STRINGS "${file}" hits REGEX "${dir}/")
    list(LENGTH hits n)
    if(n GREATER 0)
      list(GET hits 0 first)
      message(FATAL_ERROR "${file} names ${dir} in ${n} strings, e.g. ${first}")
    endif()
  endforeach()
  message(STATUS "${file}: no path of the build machine")
endfunction()

if(STEP STREQUAL "subdirectory")
  set(build "${WORK_DIR}/subdirectory")
  fresh_dir("${build}")
  run("${CMAKE_COMMAND}" -S "${TESTS_DIR}/subdirectory" -B "${build}" ${configure_args}
      "-DATTRACKER_SOURCE_DIR=${SOURCE_DIR}"
      "-DATTRACKER_CARGO_TARGET_DIR=${CARGO_TARGET_DIR}"
      "-DATTRACKER_EXPECTED_VERSION=${VERSION_FULL}")
  run("${CMAKE_COMMAND}" --build "${build}" --parallel 2)
  check_needed("${build}/consumer_c" OFF "")
  check_needed("${build}/consumer_c_shared" ON "${build}/attracker/lib/libattracker.so")
  foreach(exe consumer_c consumer_cxx consumer_c_shared)
    run("${build}/${exe}")
  endforeach()

elseif(STEP STREQUAL "install")
  file(REMOVE_RECURSE "${prefix}")
  if(shared STREQUAL MAIN_SHARED)
    set(build "${MAIN_BUILD_DIR}")
  else()
    set(build "${WORK_DIR}/build-${FLAVOR}")
    fresh_dir("${build}")
    run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build}" ${attracker_configure_args}
        "-DATTRACKER_SHARED=${shared}"
        -DATTRACKER_BUILD_TESTS=OFF -DATTRACKER_BUILD_EXAMPLES=OFF
        "-DATTRACKER_CARGO_TARGET_DIR=${CARGO_TARGET_DIR}")
    run("${CMAKE_COMMAND}" --build "${build}" --parallel 2)
  endif()
  run("${CMAKE_COMMAND}" --install "${build}" --prefix "${prefix}")

  set(expected
    include/attracker/at_tracker.h
    include/attracker/at_tracker.hpp
    include/attracker/module.modulemap
    ${LIBDIR}/cmake/attracker/attrackerConfig.cmake
    ${LIBDIR}/cmake/attracker/attrackerConfigVersion.cmake
    ${LIBDIR}/pkgconfig/attracker.pc)
  if(shared)
    # Plus libattracker.so.<version> and <soname> once the library has a SONAME.
    list(APPEND expected ${LIBDIR}/libattracker.so)
    needed_name(soname "${prefix}/${LIBDIR}/libattracker.so")
    if(NOT soname STREQUAL "libattracker.so")
      list(APPEND expected ${LIBDIR}/${soname} ${LIBDIR}/libattracker.so.${VERSION})
    endif()
    file(REAL_PATH "${prefix}/${LIBDIR}/libattracker.so" real)
    run("${READELF}" -S -W "${real}" OUTPUT_VARIABLE sections)
    if(sections MATCHES "\\] \\.z?debug_")
      message(FATAL_ERROR "the installed libattracker.so has debug sections")
    endif()
    check_no_build_paths("${real}" "${build}")
  else()
    list(APPEND expected ${LIBDIR}/libattracker.a)
    # Installed without debug sections (ATTRACKER_STRIP_DEBUG, the default).
    run("${READELF}" -S -W "${prefix}/${LIBDIR}/libattracker.a" OUTPUT_VARIABLE sections)
    if(sections MATCHES "\\] \\.z?debug_")
      message(FATAL_ERROR "the installed libattracker.a has debug sections")
    endif()
    message(STATUS "installed libattracker.a: no debug sections")
    check_no_build_paths("${prefix}/${LIBDIR}/libattracker.a" "${build}")
  endif()
  foreach(file IN LISTS expected)
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "not installed: ${prefix}/${file}")
    endif()
  endforeach()
  file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
  list(SORT installed)
  list(JOIN installed "\n  " installed)
  message(STATUS "installed into ${prefix}:\n  ${installed}")

elseif(STEP STREQUAL "find_package")
  set(build "${WORK_DIR}/find_package-${FLAVOR}")
  fresh_dir("${build}")
  run("${CMAKE_COMMAND}" -S "${TESTS_DIR}/find_package" -B "${build}" ${configure_args}
      "-DCMAKE_PREFIX_PATH=${prefix}"
      "-DEXPECT_SHARED=${shared}"
      "-DATTRACKER_PACKAGE_VERSION=${VERSION}"
      "-DATTRACKER_EXPECTED_VERSION=${VERSION_FULL}")
  run("${CMAKE_COMMAND}" --build "${build}" --parallel 2)
  foreach(exe consumer_c consumer_cxx consumer_cxx14)
    check_needed("${build}/${exe}" ${shared} "${prefix}/${LIBDIR}/libattracker.so")
    run("${build}/${exe}")
  endforeach()

elseif(STEP STREQUAL "pkg_config")
  set(build "${WORK_DIR}/pkg_config-${FLAVOR}")
  fresh_dir("${build}")
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  run("${PKG_CONFIG}" --modversion attracker OUTPUT_VARIABLE modversion)
  string(STRIP "${modversion}" modversion)
  if(NOT modversion STREQUAL VERSION_FULL)
    message(FATAL_ERROR "pkg-config --modversion attracker: ${modversion}, expected ${VERSION_FULL}")
  endif()
  if(shared)
    run("${PKG_CONFIG}" --cflags --libs attracker OUTPUT_VARIABLE flags)
    # Found at run time through an RPATH (a real install would use ld.so.conf).
    run("${PKG_CONFIG}" --variable=libdir attracker OUTPUT_VARIABLE libdir)
    string(STRIP "${libdir}" libdir)
    set(extra "-Wl,-rpath,${libdir}")
  else()
    run("${PKG_CONFIG}" --cflags --libs --static attracker OUTPUT_VARIABLE flags)
    set(extra "")
  endif()
  message(STATUS "pkg-config flags: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(define "-DATTRACKER_EXPECTED_VERSION=\"${VERSION_FULL}\"")
  run("${C_COMPILER}" -std=c11 -Wall -Wextra -Werror ${define}
      "${TESTS_DIR}/consumer.c" ${flags} ${extra} -o "${build}/consumer_c")
  run("${CXX_COMPILER}" -std=c++17 -Wall -Wextra -Werror ${define}
      "${TESTS_DIR}/consumer.cpp" ${flags} ${extra} -o "${build}/consumer_cxx")
  foreach(exe consumer_c consumer_cxx)
    check_needed("${build}/${exe}" ${shared} "${prefix}/${LIBDIR}/libattracker.so")
    run("${build}/${exe}")
  endforeach()

elseif(STEP STREQUAL "readme")
  # The README's install command, verbatim, from a fresh clone of the
  # committed sources into a clean prefix, then the README's pkg-config line
  # and a find_package() consumer against that prefix. A full crate build (a
  # few minutes): run only with ATTRACKER_LONG_TESTS=1.
  if(NOT "$ENV{ATTRACKER_LONG_TESTS}" STREQUAL "1")
    message(STATUS "skipped: the README install from a fresh clone builds the crate (minutes); set ATTRACKER_LONG_TESTS=1")
    return()
  endif()
  set(dir "${WORK_DIR}/readme")
  fresh_dir("${dir}")
  find_program(GIT git REQUIRED)
  run("${GIT}" clone --quiet "${SOURCE_DIR}" "${dir}/attracker")
  # The README of the sources under test (the clone has the same one).
  set(readme_name README.md)
  file(READ "${dir}/attracker/${readme_name}" readme)
  if(NOT readme MATCHES "\n(cmake -S attracker -B build [^\n]*--prefix /opt/attracker)\n")
    message(FATAL_ERROR "README.md: no `cmake -S attracker -B build ... --prefix /opt/attracker` line")
  endif()
  string(REPLACE "/opt/attracker" "${dir}/prefix" line "${CMAKE_MATCH_1}")
  message(STATUS "README: ${line}")
  run(sh -c "${line}" WORKING_DIRECTORY "${dir}")
  set(prefix "${dir}/prefix")
  if(NOT EXISTS "${prefix}/${LIBDIR}/libattracker.a")
    message(FATAL_ERROR "README install left no ${prefix}/${LIBDIR}/libattracker.a")
  endif()
  # The installed archive carries no debug sections and no build paths.
  run("${READELF}" -S "${prefix}/${LIBDIR}/libattracker.a" OUTPUT_VARIABLE sections)
  if(sections MATCHES "\\] \\.z?debug_")
    message(FATAL_ERROR "the installed libattracker.a has debug sections")
  endif()
  check_no_build_paths("${prefix}/${LIBDIR}/libattracker.a" "${dir}")
  set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
  run("${PKG_CONFIG}" --cflags --libs --static attracker OUTPUT_VARIABLE flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("${C_COMPILER}" "-DATTRACKER_EXPECTED_VERSION=\"${VERSION_FULL}\""
      "${TESTS_DIR}/consumer.c" ${flags} -o "${dir}/consumer_c")
  run("${dir}/consumer_c")
  run("${CMAKE_COMMAND}" -S "${TESTS_DIR}/find_package" -B "${dir}/find_package" ${configure_args}
      "-DCMAKE_PREFIX_PATH=${prefix}" -DEXPECT_SHARED=OFF
      "-DATTRACKER_PACKAGE_VERSION=${VERSION}" "-DATTRACKER_EXPECTED_VERSION=${VERSION_FULL}")
  run("${CMAKE_COMMAND}" --build "${dir}/find_package" --parallel 2)
  run("${dir}/find_package/consumer_cxx")

else()
  message(FATAL_ERROR "run_consumers.cmake: unknown STEP '${STEP}'")
endif()
