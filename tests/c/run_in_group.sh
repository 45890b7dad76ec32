#!/usr/bin/env bash
# run_in_group.sh <command> [args...]
#
# Runs the command in a process group of its own and, once it has exited,
# kills whatever is left in that group, then exits with the command's status.
# For tests that start a helper process (test_host_transport and its test
# collector): when the test dies early - a failed CHECK, a sanitizer report -
# its collector would otherwise outlive it, keep ctest's output pipe open until
# the timeout, and linger afterwards.
set -m # job control: the background job below gets its own process group
"$@" &
pid=$!
wait "$pid"
status=$?
kill -KILL -- "-$pid" 2>/dev/null || true
exit "$status"
