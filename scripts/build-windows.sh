#!/usr/bin/env bash
# Cross-builds attracker for 64-bit Windows with MinGW-w64 from Linux:
#
#   <out>/bin/attracker.dll           the DLL
#   <out>/unity/Plugins/x86_64/attracker_native.dll   the same DLL under the
#                                     name the Unity binding loads
#   <out>/lib/libattracker.dll.a      its import library (MinGW, or lld-link)
#   <out>/lib/libattracker.a          the static library
#   <out>/include/at_tracker.h
#
# libcurl is built into the library from source by curl-sys, with Schannel
# (Windows' own TLS): nothing to install on the player's machine. With
# ATTRACKER_CURL=0 it is built without libcurl (host transport). ATTRACKER_PROFILE=mobile
# builds with the size profile (opt-level "z"; README "Size") instead of release.
# For Visual Studio (MSVC) builds use scripts/build-windows.ps1 on Windows.
#
# Needs: Debian/Ubuntu's gcc-mingw-w64-x86-64 (x86_64-w64-mingw32-gcc),
# rustup target add x86_64-pc-windows-gnu.
#
# Usage: bash scripts/build-windows.sh [output dir, default dist/windows-gnu]
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist/windows-gnu}
t=x86_64-pc-windows-gnu
target_dir=${CARGO_TARGET_DIR:-target}
profile=${ATTRACKER_PROFILE:-release}
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 ||
  { echo "build-windows: x86_64-w64-mingw32-gcc not found: apt-get install gcc-mingw-w64-x86-64" >&2; exit 1; }
rustup target list --installed 2>/dev/null | grep -qx "$t" ||
  { echo "build-windows: rustup target add $t" >&2; exit 1; }

args=()
[ "${ATTRACKER_CURL:-1}" = 1 ] || args=(--no-default-features)
CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
  CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
  cargo build --profile "$profile" --locked --lib --target "$t" --target-dir "$target_dir" "${args[@]}"

rel="$target_dir/$t/$profile"
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/include"
# The release profile keeps line tables: the shipped DLL goes without them.
x86_64-w64-mingw32-strip --strip-debug -o "$out/bin/attracker.dll" "$rel/attracker.dll"
mkdir -p "$out/unity/Plugins/x86_64"
cp "$out/bin/attracker.dll" "$out/unity/Plugins/x86_64/attracker_native.dll"
cp "$rel/libattracker.dll.a" "$out/lib/"
# As cargo makes it: binutils cannot rewrite this archive (it holds an
# empty split-debug member) and the final link drops the line tables anyway.
cp "$rel/libattracker.a" "$out/lib/"
cp include/at_tracker.h "$out/include/"
echo "build-windows: $out"
