#!/usr/bin/env bash
# run_in_group.sh <command> [args...]
#
# Runs the command in a process group of its own and, once it has exited,
# kills whatever is left in that group, then exits with the command's status.
# For tests that start a helper process (test_host_transport and its test
# collector). The test reaps its collector on every exit it controls and, on
# Linux, the collector dies with it (PR_SET_PDEATHSIG); this wrapper covers the
# rest - a kill by ctest's timeout, or a platform without that signal - where
# the collector would keep ctest's output pipe open and linger afterwards.
set -m # job control: the background job below gets its own process group
"$@" &
pid=$!
wait "$pid"
status=$?
kill -KILL -- "-$pid" 2>/dev/null || true
exit "$status"
