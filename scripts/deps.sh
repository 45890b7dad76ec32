#!/usr/bin/env bash
# Installs what attracker's build and tests need on Debian/Ubuntu, when missing:
# a C/C++ compiler, clang (for the module-map and Objective-C tests), cmake,
# pkg-config, libcurl's development files, GNUstep and mono, openssl and python3
# (the TLS tests), iproute2 and nftables (the network namespace test). Rust
# (cargo) must already be installed (https://rustup.rs); rustfmt and clippy are
# added through rustup when missing.
set -euo pipefail

packages=()
command -v cc >/dev/null 2>&1 || packages+=(gcc)
command -v c++ >/dev/null 2>&1 || packages+=(g++)
command -v clang >/dev/null 2>&1 || packages+=(clang)
command -v objcopy >/dev/null 2>&1 || packages+=(binutils)   # the static archive's symbol hygiene
command -v valgrind >/dev/null 2>&1 || packages+=(valgrind)  # the C++ wrapper's memcheck test
command -v cmake >/dev/null 2>&1 || packages+=(cmake)
command -v shellcheck >/dev/null 2>&1 || packages+=(shellcheck)   # tests/scripts.rs lints scripts/*.sh
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
pkg-config --exists libcurl 2>/dev/null || packages+=(libcurl4-openssl-dev)
# The symbol-hygiene test links the system SQLite beside attracker's own.
pkg-config --exists sqlite3 2>/dev/null || packages+=(libsqlite3-dev)
# Host integrations tested here: Objective-C on GNUstep, C# (Unity-style) on mono.
command -v gnustep-config >/dev/null 2>&1 || packages+=(gnustep-make libgnustep-base-dev)
[ -e /usr/include/Block.h ] || packages+=(libblocksruntime-dev)
command -v mcs >/dev/null 2>&1 || packages+=(mono-mcs)
command -v mono >/dev/null 2>&1 || packages+=(mono-runtime)
# The Unity binding's HttpClientTransport (its Mono tests reference System.Net.Http).
[ -e /usr/lib/mono/4.5/System.Net.Http.dll ] || packages+=(libmono-system-net-http4.0-cil)
# tests/tls.rs: a test CA made with the openssl CLI, an HTTPS collector in Python.
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
python3 -c 'import ssl, http.server' >/dev/null 2>&1 || packages+=(python3)
# tests/netns.rs: a network namespace, a veth link and nftables packet loss.
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || packages+=(iproute2)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || packages+=(nftables)

if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing ${packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "deps: cargo not found; install Rust from https://rustup.rs and retry" >&2
  exit 1
fi

# scripts/test.sh checks formatting (rustfmt) and lints (clippy). Both come
# with a rustup toolchain but may be left out of a minimal one: add them then.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    echo "deps: adding the rustfmt and clippy components" >&2
    rustup component add rustfmt clippy
  else
    echo "deps: cargo fmt or cargo clippy is missing and rustup is not installed;" \
      "install rustfmt and clippy for this toolchain (scripts/test.sh needs them)" >&2
  fi
fi
