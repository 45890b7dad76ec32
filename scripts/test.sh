#!/usr/bin/env bash
# Runs every test: the Rust unit and integration tests (including the header
# freshness check), then the C tests through CMake and ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

cargo test --locked

if [ -f CMakeLists.txt ]; then
  build=build/tests
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure
fi
