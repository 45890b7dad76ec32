#!/usr/bin/env bash
# Builds dist/apple/attracker.xcframework: the static library for iOS devices
# (arm64), the iOS simulator (arm64 + x86_64, one universal library) and macOS
# (arm64 + x86_64), each with include/at_tracker.h and the module map
# (`@import ATTracker;`).
#
# Needs: macOS with Xcode (xcodebuild, lipo, strip), Rust through rustup with
# the targets
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios \
#                     aarch64-apple-darwin x86_64-apple-darwin
# iOS has no libcurl: the iOS slices are built without it
# (--no-default-features) and the app sets a host transport (the Objective-C
# wrapper's URLSession transport, or at_config_set_transport). The macOS
# slice keeps libcurl (the system's /usr/lib/libcurl.dylib: link -lcurl);
# ATTRACKER_MACOS_CURL=0 builds it without, like iOS. ATTRACKER_PROFILE=mobile
# builds with the size profile (opt-level "z"; README "Size") instead of release.
#
# Usage: bash scripts/build-apple.sh [output dir, default dist/apple]
# Not run where this repository is tested (Linux): see README, "Platforms".
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist/apple}
target_dir=${CARGO_TARGET_DIR:-target}
profile=${ATTRACKER_PROFILE:-release}
macos_curl=${ATTRACKER_MACOS_CURL:-1}

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-apple: $1 not found: $2" >&2; exit 1; }; }
[ "$(uname -s)" = Darwin ] || { echo "build-apple: needs macOS with Xcode (this is $(uname -s))" >&2; exit 1; }
need xcodebuild "install Xcode and run xcode-select --install"
need lipo "install the Xcode command line tools"
need cargo "install Rust from https://rustup.rs"
need rustup "install Rust from https://rustup.rs"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || { echo "build-apple: rustup target add $t" >&2; exit 1; }
done

build() { # <target> [cargo args...]
  local t=$1; shift
  echo "== cargo build --profile $profile --target $t $*"
  cargo build --profile "$profile" --locked --lib --target "$t" --target-dir "$target_dir" "$@"
}
build aarch64-apple-ios --no-default-features
build aarch64-apple-ios-sim --no-default-features
build x86_64-apple-ios --no-default-features
macos_args=()
[ "$macos_curl" = 1 ] || macos_args=(--no-default-features)
build aarch64-apple-darwin "${macos_args[@]}"
build x86_64-apple-darwin "${macos_args[@]}"

work="$out/work"
rm -rf "$out"
mkdir -p "$work/ios" "$work/ios-simulator" "$work/macos" "$work/headers"
lib() { echo "$target_dir/$1/$profile/libattracker.a"; }
cp "$(lib aarch64-apple-ios)" "$work/ios/libattracker.a"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/ios-simulator/libattracker.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/macos/libattracker.a"
# The release profile keeps line tables; apps ship without them.
for a in "$work"/*/libattracker.a; do strip -S "$a"; done

cp include/at_tracker.h include/module.modulemap "$work/headers/"

xcodebuild -create-xcframework \
  -library "$work/ios/libattracker.a" -headers "$work/headers" \
  -library "$work/ios-simulator/libattracker.a" -headers "$work/headers" \
  -library "$work/macos/libattracker.a" -headers "$work/headers" \
  -output "$out/attracker.xcframework"
rm -rf "$work"
echo "build-apple: $out/attracker.xcframework"
echo "  link it in Xcode (Frameworks, Libraries); iOS needs a host transport; macOS with libcurl: add -lcurl"
