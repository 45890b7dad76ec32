#!/usr/bin/env bash
# Runs only the C tests' sanitizer and memcheck variants (tests/c/CMakeLists.txt):
#
#   <test>_asan      gcc -fsanitize=address,undefined, LeakSanitizer at exit
#   <test>_tsan      gcc -fsanitize=thread (tests/c/tsan.supp)
#   <test>_memcheck  the plain test under valgrind memcheck
#
# each linking the same libattracker.a as the plain tests. The normal ctest run
# (scripts/test.sh) includes them too; this is the quick way to run just them,
# in a build directory of their own, and get a summary per tool.
#
#   scripts/sanitize.sh [ctest args...]
#
# e.g.  scripts/sanitize.sh -L tsan                  TSan only
#       scripts/sanitize.sh -R callbacks             one test, every tool
#       scripts/sanitize.sh --repeat until-fail:10   flakiness check
#
# Environment:
#   ATTRACKER_SANITIZE_BUILD_DIR  build directory (default build/sanitize)
#   ATTRACKER_CARGO_TARGET_DIR    cargo target dir to (re)use, e.g.
#                                 build/tests/cargo, to skip a second Rust
#                                 build (default: <build dir>/cargo)
#   JOBS                          parallel build jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

build=${ATTRACKER_SANITIZE_BUILD_DIR:-build/sanitize}
configure=(-S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTRACKER_SANITIZER_TESTS=ON)
if [ -n "${ATTRACKER_CARGO_TARGET_DIR:-}" ]; then
  configure+=("-DATTRACKER_CARGO_TARGET_DIR=$(realpath -m "$ATTRACKER_CARGO_TARGET_DIR")")
fi
cmake "${configure[@]}" >/dev/null
# Only what these tests need (the library, the collector, the test programs).
cmake --build "$build" -j"${JOBS:-2}" --target attracker_c_sanitize_tests

if [ -z "$(ctest --test-dir "$build" -N -L sanitize | sed -n 's/^ *Test *#[0-9]*: //p')" ]; then
  echo "sanitize: no sanitizer or memcheck test was configured (see the warnings of the cmake step)" >&2
  exit 1
fi

log="$build/sanitize.log"
status=0
ctest --test-dir "$build" -L sanitize --output-on-failure "$@" 2>&1 | tee "$log" || status=$?

# ctest's result lines: " 3/15 Test  #4: test_inspection_memcheck .....   Passed    1.83 sec"
echo
echo "sanitize summary ($build, full output in $log):"
awk '
  /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / {
    name = $4
    tool = name; sub(/.*_/, "", tool)
    test = name; sub(/_[a-z]+$/, "", test)
    n = split($0, f, " "); secs = f[n - 1]
    result = $0
    sub(/^[^:]*: [^ ]+ [.]* */, "", result)   # after the name and its dots
    sub(/ +[0-9.]+ sec$/, "", result)
    sub(/^[*]+/, "", result)                  # "***Failed" -> "Failed"
    printf "  %-9s %-22s %-24s %7.2f s\n", tool, test, result, secs
    total[tool] += secs; count[tool]++
    if (result == "Passed") passed[tool]++
    if (!(tool in seen)) { seen[tool] = 1; order[++ntools] = tool }
  }
  END {
    if (ntools == 0) { print "  (no test ran)"; exit }
    for (i = 1; i <= ntools; i++) {
      t = order[i]
      printf "  %-9s %d/%d passed, %.1f s\n", t ":", passed[t] + 0, count[t], total[t]
    }
  }' "$log"
exit "$status"
