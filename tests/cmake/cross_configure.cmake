# ctest cross_configure_<name> (cmake -P): configures attracker for a foreign
# target with a toolchain file and checks what the build would run, from the
# attracker-cargo.txt the configure writes (AttrackerCargo.cmake): the Rust
# triple, the cargo command line and its environment, the library paths cargo
# will produce, the DLL's import library, the static archive's link libraries.
# Nothing is built: the target's standard library and C toolchain are not
# installed here (when they are, the real rustc probe runs instead of the
# ATTRACKER_NATIVE_STATIC_LIBS override).
#
#   CASE        linux-aarch64 | windows-mingw
#   SOURCE_DIR  the attracker source tree; WORK_DIR  scratch directory
#   RUSTC       rustc, to ask whether the target's std is installed
cmake_minimum_required(VERSION 3.20)

set(toolchains "${CMAKE_CURRENT_LIST_DIR}/toolchains")
set(build "${WORK_DIR}/cross-${CASE}")

function(configure out_var rc_var)
  file(REMOVE_RECURSE "${build}")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${build}"
            "-DCMAKE_TOOLCHAIN_FILE=${toolchains}/${CASE}.cmake"
            -DCMAKE_BUILD_TYPE=Release
            -DATTRACKER_BUILD_TESTS=OFF -DATTRACKER_BUILD_EXAMPLES=OFF ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
endfunction()

# Checks <field> of attracker-cargo.txt against a regular expression.
function(expect field regex)
  file(STRINGS "${build}/attracker-cargo.txt" lines REGEX "^${field}=")
  if(NOT lines MATCHES "${regex}")
    message(FATAL_ERROR "${CASE}: ${field} is '${lines}', expected to match '${regex}'")
  endif()
  message(STATUS "${CASE}: ${lines}")
endfunction()

function(std_installed out target)
  execute_process(COMMAND "${RUSTC}" --print target-libdir --target "${target}"
    OUTPUT_VARIABLE dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  file(GLOB std "${dir}/libstd-*.rlib")
  if(rc EQUAL 0 AND std)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

if(CASE STREQUAL "linux-aarch64")
  set(triple aarch64-unknown-linux-gnu)
  std_installed(have_std ${triple})
  if(NOT have_std)
    # Without the target's std the probe cannot run: a clear failure.
    configure(out rc -DATTRACKER_CURL=OFF)
    if(rc EQUAL 0 OR NOT out MATCHES "rustup target add ${triple}")
      message(FATAL_ERROR "expected the configure to fail naming `rustup target add ${triple}`:\n${out}")
    endif()
    message(STATUS "${CASE}: without its std, configure fails with `rustup target add ${triple}`")
    set(override "-DATTRACKER_NATIVE_STATIC_LIBS=-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc")
  endif()
  configure(out rc -DATTRACKER_CURL=OFF ${override})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configure failed:\n${out}")
  endif()
  if(NOT out MATCHES "ATTRACKER_CURL=OFF: built without libcurl; every tracker needs a host transport")
    message(FATAL_ERROR "the configure did not say a host transport is required:\n${out}")
  endif()
  if(out MATCHES "Found CURL")
    message(FATAL_ERROR "ATTRACKER_CURL=OFF looked for libcurl:\n${out}")
  endif()
  expect(targets "^targets=${triple}$")
  expect(cross "=ON$")
  expect(command " build --release --locked --no-default-features --target ${triple} ")
  expect(env "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=[^ ]+")
  expect(env "CC_aarch64_unknown_linux_gnu=[^ ]+")
  expect(static "/${triple}/release/libattracker\\.a$")
  expect(shared "/${triple}/release/libattracker\\.so$")
  expect(implib "^implib=$")
  expect(links "^links=gcc_s util rt m dl$")

elseif(CASE STREQUAL "windows-mingw")
  set(triple x86_64-pc-windows-gnu)
  std_installed(have_std ${triple})
  set(override "")
  if(NOT have_std)
    # What rustc prints for x86_64-pc-windows-gnu (1.95).
    set(override "-DATTRACKER_NATIVE_STATIC_LIBS=-lkernel32 -ladvapi32 -lntdll -luserenv -lws2_32 -ldbghelp -lgcc_eh -l:libpthread.a -lmsvcrt -lmingwex -lmingw32 -lgcc -lmsvcrt -luser32 -lkernel32")
  endif()
  configure(out rc -DATTRACKER_CURL=ON -DATTRACKER_SHARED=ON ${override})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configure failed:\n${out}")
  endif()
  if(out MATCHES "Found CURL")
    message(FATAL_ERROR "libcurl is built into the Windows library; the configure looked for a system one:\n${out}")
  endif()
  message(STATUS "${CASE}: std installed: ${have_std}")
  expect(targets "^targets=${triple}$")
  expect(command " build --release --locked --target ${triple} ")
  file(STRINGS "${build}/attracker-cargo.txt" command REGEX "^command=")
  if(command MATCHES "no-default-features")
    message(FATAL_ERROR "ATTRACKER_CURL=ON built without libcurl: ${command}")
  endif()
  expect(env "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=[^ ]+")
  expect(static "/${triple}/release/libattracker\\.a$")
  expect(shared "/${triple}/release/attracker\\.dll$")
  expect(implib "/lib/libattracker\\.dll\\.a$")
  # std's libraries (from rustc) and bundled libcurl's.
  expect(links "[= ]kernel32( |$)")
  expect(links "[= ]ws2_32( |$)")
  expect(links "[= ]crypt32( |$)")
  # The installed package links the DLL through its import library.
  file(READ "${build}/attrackerConfig.cmake" config)
  if(NOT config MATCHES "IMPORTED_IMPLIB \"[^\"]*/libattracker\\.dll\\.a\"" OR NOT config MATCHES "bin/attracker\\.dll")
    message(FATAL_ERROR "attrackerConfig.cmake has no import library for the DLL:\n${config}")
  endif()
  message(STATUS "${CASE}: attrackerConfig.cmake: DLL in bin/, IMPORTED_IMPLIB lib/libattracker.dll.a")

else()
  message(FATAL_ERROR "cross_configure.cmake: unknown CASE '${CASE}'")
endif()
