#!/bin/sh
# run_demo.sh COLLECTOR DEMO STORE_DIR
#
# Starts the test collector on a free loopback port, runs the Objective-C demo
# against it with a fresh store, and checks that the collector saw every hit
# (the demo tracks 2 events and 1 URL hit). Run by ctest as objc_demo.
set -eu
collector=$1
demo=$2
store=$3

log=$(mktemp)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$log"
}
trap cleanup EXIT

"$collector" 127.0.0.1:0 --exit-after 3 >"$log" 2>&1 &
pid=$!
url=
i=0
while [ $i -lt 200 ] && [ -z "$url" ]; do
    url=$(sed -n 's/^collector listening on \(http[^ ]*\).*/\1/p' "$log")
    [ -n "$url" ] || sleep 0.05
    i=$((i + 1))
done
if [ -z "$url" ]; then
    cat "$log"
    echo "run_demo.sh: the collector did not start" >&2
    exit 1
fi

rm -rf "$store"
echo "== the app (examples-objc/demo.m) =="
status=0
"$demo" "$store" "$url" || status=$?

# The collector exits by itself once the 3 hits arrived; a watchdog stops it
# after 10 s otherwise (its output is closed, so ctest does not wait for it).
( sleep 10; kill "$pid" 2>/dev/null ) >/dev/null 2>&1 &
watchdog=$!
collector_status=0
wait "$pid" || collector_status=$?
kill "$watchdog" 2>/dev/null || true
pid=
echo
echo "== what the collector received =="
cat "$log"

if [ "$status" -ne 0 ]; then
    echo "run_demo.sh: the demo failed (exit $status)" >&2
    exit 1
fi
if [ "$collector_status" -ne 0 ]; then
    echo "run_demo.sh: the collector did not see the 3 hits (exit $collector_status)" >&2
    exit 1
fi
