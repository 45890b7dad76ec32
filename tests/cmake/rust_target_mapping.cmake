# ctest rust_target_mapping (cmake -P): the Rust triple CMake derives for each
# toolchain a game or app targets, with the variables those toolchains set
# (the NDK's, Xcode's iOS and macOS, Visual Studio, MinGW, Linux cross
# compilers), none of which exist on the machine running it.
cmake_minimum_required(VERSION 3.20)
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/AttrackerRustTriple.cmake")

set(failures 0)
# expect(<triples> VAR=value...): clears the toolchain variables, sets the
# given ones, checks the mapping.
function(expect want)
  foreach(v CMAKE_SYSTEM_NAME CMAKE_SYSTEM_PROCESSOR CMAKE_ANDROID_ARCH_ABI ANDROID_ABI
            CMAKE_OSX_ARCHITECTURES CMAKE_OSX_SYSROOT MSVC CMAKE_C_COMPILER_ID
            CMAKE_C_SIMULATE_ID CMAKE_C_COMPILER_ARCHITECTURE_ID CMAKE_C_COMPILER_TARGET
            CMAKE_C_COMPILER CMAKE_HOST_SYSTEM_PROCESSOR)
    unset(${v})
  endforeach()
  foreach(assignment IN LISTS ARGN)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${assignment}")
    string(REPLACE "," ";" value "${CMAKE_MATCH_2}")
    set(${CMAKE_MATCH_1} "${value}")
  endforeach()
  attracker_rust_targets_from_toolchain(got)
  string(REPLACE "," ";" want "${want}")
  if(got STREQUAL want)
    message(STATUS "ok   ${want} <- ${ARGN}")
  else()
    message(SEND_ERROR "FAIL ${ARGN}: got '${got}', want '${want}'")
  endif()
endfunction()

expect(aarch64-linux-android    CMAKE_SYSTEM_NAME=Android CMAKE_ANDROID_ARCH_ABI=arm64-v8a)
expect(armv7-linux-androideabi  CMAKE_SYSTEM_NAME=Android CMAKE_ANDROID_ARCH_ABI=armeabi-v7a)
expect(i686-linux-android       CMAKE_SYSTEM_NAME=Android CMAKE_ANDROID_ARCH_ABI=x86)
expect(x86_64-linux-android     CMAKE_SYSTEM_NAME=Android ANDROID_ABI=x86_64)
expect(aarch64-apple-ios        CMAKE_SYSTEM_NAME=iOS CMAKE_OSX_ARCHITECTURES=arm64 CMAKE_OSX_SYSROOT=iphoneos)
expect(aarch64-apple-ios-sim    CMAKE_SYSTEM_NAME=iOS CMAKE_OSX_ARCHITECTURES=arm64 CMAKE_OSX_SYSROOT=iphonesimulator)
expect(aarch64-apple-ios-sim,x86_64-apple-ios
       CMAKE_SYSTEM_NAME=iOS CMAKE_OSX_ARCHITECTURES=arm64,x86_64
       CMAKE_OSX_SYSROOT=/Applications/Xcode.app/Contents/Developer/Platforms/iPhoneSimulator.platform/Developer/SDKs/iPhoneSimulator.sdk)
expect(aarch64-apple-darwin,x86_64-apple-darwin CMAKE_SYSTEM_NAME=Darwin CMAKE_OSX_ARCHITECTURES=arm64,x86_64)
expect(x86_64-apple-darwin      CMAKE_SYSTEM_NAME=Darwin CMAKE_SYSTEM_PROCESSOR=x86_64)
expect(aarch64-apple-darwin     CMAKE_SYSTEM_NAME=Darwin CMAKE_HOST_SYSTEM_PROCESSOR=arm64)
expect(x86_64-pc-windows-msvc   CMAKE_SYSTEM_NAME=Windows MSVC=1 CMAKE_C_COMPILER_ID=MSVC CMAKE_C_COMPILER_ARCHITECTURE_ID=x64 CMAKE_SYSTEM_PROCESSOR=AMD64)
expect(aarch64-pc-windows-msvc  CMAKE_SYSTEM_NAME=Windows MSVC=1 CMAKE_C_COMPILER_ID=MSVC CMAKE_C_COMPILER_ARCHITECTURE_ID=ARM64 CMAKE_SYSTEM_PROCESSOR=AMD64)
expect(i686-pc-windows-msvc     CMAKE_SYSTEM_NAME=Windows CMAKE_C_COMPILER_ID=Clang CMAKE_C_SIMULATE_ID=MSVC CMAKE_C_COMPILER_ARCHITECTURE_ID=X86)
expect(x86_64-pc-windows-gnu    CMAKE_SYSTEM_NAME=Windows CMAKE_C_COMPILER_ID=GNU CMAKE_SYSTEM_PROCESSOR=x86_64)
expect(i686-pc-windows-gnu      CMAKE_SYSTEM_NAME=Windows CMAKE_C_COMPILER_ID=GNU CMAKE_SYSTEM_PROCESSOR=i686)
expect(aarch64-pc-windows-gnullvm CMAKE_SYSTEM_NAME=Windows CMAKE_C_COMPILER_ID=Clang CMAKE_SYSTEM_PROCESSOR=aarch64)
expect(aarch64-unknown-linux-gnu CMAKE_SYSTEM_NAME=Linux CMAKE_SYSTEM_PROCESSOR=aarch64)
expect(aarch64-unknown-linux-gnu CMAKE_SYSTEM_NAME=Linux CMAKE_SYSTEM_PROCESSOR=arm64)
expect(x86_64-unknown-linux-gnu CMAKE_SYSTEM_NAME=Linux CMAKE_SYSTEM_PROCESSOR=x86_64)
expect(armv7-unknown-linux-gnueabihf CMAKE_SYSTEM_NAME=Linux CMAKE_SYSTEM_PROCESSOR=armv7l)
expect(x86_64-unknown-linux-musl CMAKE_SYSTEM_NAME=Linux CMAKE_SYSTEM_PROCESSOR=x86_64 CMAKE_C_COMPILER=/usr/bin/musl-gcc)
