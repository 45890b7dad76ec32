# Install rules: the library chosen by ATTRACKER_SHARED, the headers, a CMake
# package (find_package(attracker CONFIG) -> attracker::attracker) and a
# pkg-config file. Everything is relative to the install prefix, so
# `cmake --install <build> --prefix <p>` works for any <p> and the installed
# tree can be moved.
#
#   <prefix>/include/attracker/         at_tracker.h, module.modulemap, at_tracker.hpp
#   <prefix>/<libdir>/                  libattracker.a, or libattracker.so
#                                       (+ .so.X.Y.Z and .so.X once it has a SONAME)
#   <prefix>/<libdir>/cmake/attracker/  attrackerConfig.cmake, ...ConfigVersion.cmake
#   <prefix>/<libdir>/pkgconfig/        attracker.pc
#
# The headers go to their own directory: module.modulemap describes the whole
# directory it sits in, so it must not land in a shared <prefix>/include.
# Consumers get -I<prefix>/include/attracker and keep writing
# #include "at_tracker.h", exactly as in the source tree.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ATTRACKER_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/attracker")
set(ATTRACKER_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/attracker")
set(ATTRACKER_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# The C header and its module map, and beside them the C++ wrapper itself
# (bindings/cpp/include/at_tracker.hpp), not include/at_tracker.hpp, which only
# forwards to it in the source tree.
install(FILES
    "${PROJECT_SOURCE_DIR}/include/at_tracker.h"
    "${PROJECT_SOURCE_DIR}/include/module.modulemap"
    "${PROJECT_SOURCE_DIR}/bindings/cpp/include/at_tracker.hpp"
  DESTINATION "${ATTRACKER_INSTALL_INCLUDEDIR}")

get_filename_component(_attracker_static_name "${ATTRACKER_STATIC_LIBRARY}" NAME)
if(ATTRACKER_SHARED AND ATTRACKER_IMPORT_LIBRARY)
  # Windows: the DLL beside the programs, its import library in lib/.
  install(FILES "${ATTRACKER_SHARED_LIBRARY}" DESTINATION "${CMAKE_INSTALL_BINDIR}")
  install(FILES "${ATTRACKER_IMPORT_LIBRARY}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
elseif(ATTRACKER_SHARED)
  # libattracker.so, plus libattracker.so.<version> and the <soname> symlink
  # when the library has a SONAME (AttrackerPostBuild.cmake). Matched at
  # install time; symlinks are installed as symlinks.
  install(DIRECTORY "${ATTRACKER_LIBRARY_DIR}/"
    DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    USE_SOURCE_PERMISSIONS
    FILES_MATCHING
      PATTERN "${ATTRACKER_SHARED_NAME}"
      PATTERN "${ATTRACKER_SHARED_NAME}.*")
  if(ATTRACKER_STRIP_DEBUG AND CMAKE_OBJCOPY AND CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
    # The same for the shared library (the file the symlinks lead to): its
    # symbols stay, its line tables and the C compiler's paths go.
    install(CODE "
      file(REAL_PATH \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/${ATTRACKER_SHARED_NAME}\" _lib)
      execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --strip-debug \"\${_lib}\" RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR \"attracker: objcopy --strip-debug \${_lib} failed\")
      endif()")
  endif()
else()
  install(FILES "${ATTRACKER_STATIC_LIBRARY}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  if(ATTRACKER_STRIP_DEBUG AND CMAKE_OBJCOPY)
    # Without the release profile's line tables and the build paths in them
    # (objcopy strips every member of an archive).
    install(CODE "
      set(_lib \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/${_attracker_static_name}\")
      execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --strip-debug \"\${_lib}\" RESULT_VARIABLE _rc)
      if(NOT _rc EQUAL 0)
        message(FATAL_ERROR \"attracker: objcopy --strip-debug \${_lib} failed\")
      endif()")
  endif()
endif()

# --- CMake package ------------------------------------------------------------
# attracker::static/shared are IMPORTED (cargo builds them), so there is no
# install(EXPORT): the config file declares attracker::attracker itself.
# Both paths are written; the config uses the one of the installed flavour.
set(ATTRACKER_INSTALL_STATIC_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${_attracker_static_name}")
set(ATTRACKER_INSTALL_SHARED_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${ATTRACKER_SHARED_NAME}")
set(ATTRACKER_INSTALL_IMPORT_LIBRARY "")
if(ATTRACKER_IMPORT_LIBRARY)
  get_filename_component(_attracker_implib_name "${ATTRACKER_IMPORT_LIBRARY}" NAME)
  set(ATTRACKER_INSTALL_SHARED_LIBRARY "${CMAKE_INSTALL_BINDIR}/${ATTRACKER_SHARED_NAME}")
  set(ATTRACKER_INSTALL_IMPORT_LIBRARY "${CMAKE_INSTALL_LIBDIR}/${_attracker_implib_name}")
endif()
# What the config file links for the static flavour (besides CURL::libcurl
# when ATTRACKER_SYSTEM_CURL): the same as attracker::static.
set(ATTRACKER_SYSTEM_CURL_BOOL ${ATTRACKER_SYSTEM_CURL})
if(ATTRACKER_SHARED)
  set(ATTRACKER_SHARED_BOOL ON)
  set(_attracker_kind "shared")
else()
  set(ATTRACKER_SHARED_BOOL OFF)
  set(_attracker_kind "static")
endif()
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/attrackerConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/attrackerConfig.cmake"
  INSTALL_DESTINATION "${ATTRACKER_INSTALL_CMAKEDIR}"
  PATH_VARS ATTRACKER_INSTALL_INCLUDEDIR
            ATTRACKER_INSTALL_STATIC_LIBRARY ATTRACKER_INSTALL_SHARED_LIBRARY
            ATTRACKER_INSTALL_IMPORT_LIBRARY)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/attrackerConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/attrackerConfig.cmake"
    "${PROJECT_BINARY_DIR}/attrackerConfigVersion.cmake"
  DESTINATION "${ATTRACKER_INSTALL_CMAKEDIR}")

# --- pkg-config ---------------------------------------------------------------
# prefix is found from the .pc file's own location (${pcfiledir}, supported by
# pkg-config and pkgconf), because --prefix is only known at install time.
if(IS_ABSOLUTE "${ATTRACKER_INSTALL_PKGCONFIGDIR}")
  set(ATTRACKER_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _attracker_pc_up
    "/prefix/${ATTRACKER_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _attracker_pc_up "${_attracker_pc_up}")
  set(ATTRACKER_PC_PREFIX "\${pcfiledir}/${_attracker_pc_up}")
endif()
# libdir and includedir relative to it, unless given as absolute paths.
foreach(_pair "LIBDIR;${CMAKE_INSTALL_LIBDIR}" "INCLUDEDIR;${ATTRACKER_INSTALL_INCLUDEDIR}")
  list(GET _pair 0 _name)
  list(GET _pair 1 _dir)
  if(IS_ABSOLUTE "${_dir}")
    set(ATTRACKER_PC_${_name} "${_dir}")
  else()
    set(ATTRACKER_PC_${_name} "\${prefix}/${_dir}")
  endif()
endforeach()
if(ATTRACKER_SHARED)
  # libattracker.so records its own dependencies (DT_NEEDED).
  set(ATTRACKER_PC_LIBS_PRIVATE "")
else()
  # For `pkg-config --static`: libcurl as a plain -lcurl, not
  # `Requires.private: libcurl`. The staticlib links the *shared* system
  # libcurl, while Requires.private would pull in libcurl.pc's own
  # Libs.private (-lnghttp2 -lssh2 -lldap ... for a static libcurl), whose
  # development symlinks Debian does not install: the link would fail.
  set(ATTRACKER_PC_LIBS_PRIVATE "-lpthread")
  if(ATTRACKER_SYSTEM_CURL)
    set(ATTRACKER_PC_LIBS_PRIVATE "-lcurl -lpthread")
  endif()
  foreach(_lib IN LISTS ATTRACKER_STATIC_SYSTEM_LIBS)
    if(_lib MATCHES "^-")
      string(APPEND ATTRACKER_PC_LIBS_PRIVATE " ${_lib}")   # -framework X
    else()
      string(APPEND ATTRACKER_PC_LIBS_PRIVATE " -l${_lib}")
    endif()
  endforeach()
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/attracker.pc.in"
  "${PROJECT_BINARY_DIR}/attracker.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/attracker.pc"
  DESTINATION "${ATTRACKER_INSTALL_PKGCONFIGDIR}")
