#!/usr/bin/env bash
# Builds a Linux libattracker.so (and libattracker.a) that runs on glibc 2.17
# and later (RHEL/CentOS 7 and 8, Ubuntu 18.04/20.04, older Steam runtimes)
# and needs no system libcurl or OpenSSL: libcurl and OpenSSL are built from
# source (the `portable-curl` feature) and linked in, and cargo-zigbuild links
# against the symbol versions of the requested glibc.
#
# Usage: bash scripts/build-linux-portable.sh [glibc version, default 2.17]
#   ATTRACKER_PORTABLE_TARGET   Rust target (default x86_64-unknown-linux-gnu;
#                               aarch64-unknown-linux-gnu needs its rustup target)
#   ATTRACKER_PORTABLE_FEATURES cargo features (default portable-curl; "" for a
#                               build without libcurl, which needs a host transport)
#
# Needs: cargo and rustup; zig (pip install ziglang, or a zig on PATH);
# cargo-zigbuild (cargo install cargo-zigbuild --locked); perl and make
# (OpenSSL's build). It takes several minutes (OpenSSL and libcurl compile
# from source), so it is not part of scripts/test.sh: tests/portable_linux.rs
# checks its output when present. Output:
#   target/portable/<target>/release/libattracker.{so,a}
#   target/portable/<target>/release/portable-glibc   (the glibc asked for)
set -euo pipefail
cd "$(dirname "$0")/.."

glibc="${1:-2.17}"
target="${ATTRACKER_PORTABLE_TARGET:-x86_64-unknown-linux-gnu}"
features="${ATTRACKER_PORTABLE_FEATURES-portable-curl}"

case "$glibc" in
  2.[0-9]|2.[0-9][0-9]) ;;
  *) echo "build-linux-portable: '$glibc' is not a glibc version like 2.17" >&2; exit 2 ;;
esac
if ! cargo zigbuild --help >/dev/null 2>&1; then
  echo "build-linux-portable: cargo-zigbuild is missing: cargo install cargo-zigbuild --locked" >&2
  exit 1
fi
if ! command -v zig >/dev/null 2>&1 && ! python3 -m ziglang version >/dev/null 2>&1; then
  echo "build-linux-portable: zig is missing: pip install ziglang (or put zig on PATH)" >&2
  exit 1
fi
if [ -n "$features" ]; then
  for tool in perl make; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-linux-portable: $tool is missing (OpenSSL's build needs it)" >&2; exit 1; }
  done
fi
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"

out="target/portable/$target/release"
args=(zigbuild --release --locked --lib --target "$target.$glibc" --target-dir target/portable)
if [ -n "$features" ]; then
  args+=(--no-default-features --features "$features")
else
  args+=(--no-default-features)
fi
echo "build-linux-portable: cargo ${args[*]}" >&2
cargo "${args[@]}"
echo "$glibc" >"$out/portable-glibc"
echo "$features" >"$out/portable-features"
strip --strip-debug "$out/libattracker.so" 2>/dev/null || true

echo "build-linux-portable: $out/libattracker.so ($(du -h "$out/libattracker.so" | cut -f1))" >&2
highest=$(objdump -T "$out/libattracker.so" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -1 || true)
echo "build-linux-portable: highest glibc symbol version required: ${highest:-none}" >&2
echo "build-linux-portable: libraries needed: $(readelf -d "$out/libattracker.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')" >&2
