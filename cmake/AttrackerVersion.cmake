# attracker_cargo_version(<manifest> <out_var>)
#
# Reads `version = "X.Y.Z..."` from the [package] table of a Cargo.toml, so
# Cargo.toml stays the single source of truth for the version that at_version()
# returns, the CMake package version and the pkg-config version. Sets
#   <out_var>       "X.Y.Z" (any pre-release or build suffix dropped: CMake
#                   versions are numeric)
#   <out_var>_FULL  the version exactly as written
# and makes CMake re-run its configure step when the manifest changes.
function(attracker_cargo_version manifest out_var)
  file(STRINGS "${manifest}" _lines)
  set(_table "")
  foreach(_line IN LISTS _lines)
    if(_line MATCHES "^[ \t]*\\[([^]]*)\\]")
      set(_table "${CMAKE_MATCH_1}")
    elseif(_table STREQUAL "package"
           AND _line MATCHES "^[ \t]*version[ \t]*=[ \t]*\"(([0-9]+\\.[0-9]+\\.[0-9]+)[^\"]*)\"")
      set(${out_var} "${CMAKE_MATCH_2}" PARENT_SCOPE)
      set(${out_var}_FULL "${CMAKE_MATCH_1}" PARENT_SCOPE)
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "attracker: no version = \"X.Y.Z\" in the [package] table of ${manifest}")
endfunction()
