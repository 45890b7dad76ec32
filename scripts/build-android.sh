#!/usr/bin/env bash
# Builds libattracker.so for every Android ABI (arm64-v8a, armeabi-v7a, x86,
# x86_64) with the NDK's clang, laid out as Unity's and Unreal's Android
# plugin folders expect:
#
#   <out>/unity/Plugins/Android/<abi>/libattracker_native.so  (the Unity
#        package's plugin folders; the binding loads "attracker_native")
#   <out>/unreal/lib/Android/<abi>/libattracker.so   (Attracker.Build.cs)
#   <out>/include/at_tracker.h
#
# Built without libcurl (--no-default-features: a libcurl for Android needs
# an OpenSSL built for each ABI): the app sets a host transport (the Unity
# binding's UnityWebRequest transport, Unreal's FHttpModule one, or
# at_config_set_transport).
#
# Needs: the Android NDK r25 or later (ANDROID_NDK_HOME or ANDROID_NDK_ROOT),
# Rust through rustup with the targets
#   rustup target add aarch64-linux-android armv7-linux-androideabi \
#                     i686-linux-android x86_64-linux-android
# ANDROID_API (default 23) is the minimum API level. ATTRACKER_PROFILE=mobile
# builds with the size profile (opt-level "z"; README "Size") instead of release.
#
# Usage: bash scripts/build-android.sh [output dir, default dist/android]
# Not run where this repository is tested: see README, "Platforms".
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist/android}
api=${ANDROID_API:-23}
target_dir=${CARGO_TARGET_DIR:-target}
profile=${ATTRACKER_PROFILE:-release}
ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}}
if [ -z "$ndk" ] || [ ! -d "$ndk" ]; then
  echo "build-android: set ANDROID_NDK_HOME to the Android NDK (r25 or later)" >&2
  exit 1
fi
command -v rustup >/dev/null 2>&1 || { echo "build-android: install Rust from https://rustup.rs" >&2; exit 1; }

case "$(uname -s)" in
  Linux) host=linux-x86_64 ;;
  Darwin) host=darwin-x86_64 ;;   # the NDK ships x86_64 binaries that run under Rosetta too
  *) echo "build-android: run on Linux or macOS (Windows: use WSL)" >&2; exit 1 ;;
esac
bin="$ndk/toolchains/llvm/prebuilt/$host/bin"
[ -x "$bin/clang" ] || { echo "build-android: no NDK clang at $bin" >&2; exit 1; }

# ABI, Rust target, NDK clang prefix.
abis=(
  "arm64-v8a aarch64-linux-android aarch64-linux-android"
  "armeabi-v7a armv7-linux-androideabi armv7a-linux-androideabi"
  "x86 i686-linux-android i686-linux-android"
  "x86_64 x86_64-linux-android x86_64-linux-android"
)
installed=$(rustup target list --installed)
for row in "${abis[@]}"; do
  read -r _ t _ <<<"$row"
  grep -qx "$t" <<<"$installed" || { echo "build-android: rustup target add $t" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/include"
cp include/at_tracker.h "$out/include/"
for row in "${abis[@]}"; do
  read -r abi t clang <<<"$row"
  cc="$bin/${clang}${api}-clang"
  [ -x "$cc" ] || { echo "build-android: $cc not found (ANDROID_API=$api too low for this NDK?)" >&2; exit 1; }
  upper=$(tr 'a-z-' 'A-Z_' <<<"$t")
  lower=${t//-/_}
  echo "== $abi ($t, API $api, profile $profile)"
  env "CARGO_TARGET_${upper}_LINKER=$cc" "CC_${lower}=$cc" "AR_${lower}=$bin/llvm-ar" \
    cargo build --profile "$profile" --locked --lib --no-default-features --target "$t" --target-dir "$target_dir"
  built="$target_dir/$t/$profile/libattracker.so"
  mkdir -p "$out/unity/Plugins/Android/$abi" "$out/unreal/lib/Android/$abi"
  "$bin/llvm-strip" --strip-debug -o "$out/unity/Plugins/Android/$abi/libattracker_native.so" "$built"
  "$bin/llvm-strip" --strip-debug -o "$out/unreal/lib/Android/$abi/libattracker.so" "$built"
done
echo "build-android: $out (unity/Plugins/Android/<abi>, unreal/lib/Android/<abi>)"
