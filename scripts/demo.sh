#!/usr/bin/env bash
# The main demo: builds the library and the C quick start with CMake, starts the
# test collector on a free loopback port, and runs the quick start against it:
# hits are tracked offline, listed from the store, then dispatched and seen
# arriving at the collector.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

build=build/demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTRACKER_BUILD_TESTS=OFF >/dev/null
# The library and the collector come from one cargo target dir
# ($build/cargo): the crate is compiled once.
cmake --build "$build" --target quickstart attracker_collector -j2
collector_bin="$build/cargo/release/examples/collector"

log=$(mktemp)
trap 'kill "$collector" 2>/dev/null || true; rm -f "$log"' EXIT
# 3 events (identify, screen, track) + 1 URL hit; the collector exits once it
# has seen them.
"$collector_bin" 127.0.0.1:0 --exit-after 4 >"$log" 2>&1 &
collector=$!
for _ in $(seq 100); do
  url=$(sed -n 's/^collector listening on \(http[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "${url:-}" ] || { cat "$log"; echo "demo: the collector did not start" >&2; exit 1; }

store="$build/attracker-demo"
rm -rf "$store"
echo "== the app (examples-c/quickstart.c) =="
"$build/examples-c/quickstart" "$store" "$url"
wait "$collector" || true
echo
echo "== what the collector received =="
cat "$log"
