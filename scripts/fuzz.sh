#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the targets in fuzz/, each
# for a bounded time, one after the other:
#
#   bash scripts/fuzz.sh [seconds per target, default 60] [target ...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Built
# with overflow checks and debug assertions (-a). Inputs come from the committed
# seeds (fuzz/seeds/<target>) and the corpus grown by earlier runs
# (fuzz/corpus/<target>, not in git); crashes go to fuzz/artifacts/<target>,
# each run's output to fuzz/logs/<target>.log. Exits non-zero when a target
# crashed, with the reproduce command in the log.
#
# FUZZ_SEEDS_ONLY=1 runs each target once over its committed seeds and stops
# (deterministic: a regression check, no search).
#
# FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode, going on after a crash (for long
# runs: every distinct crash is kept in fuzz/artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
extra=()
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
  extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
mkdir -p fuzz/logs
cargo +nightly fuzz build -a -O >/dev/null
failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/logs/$t.log"
  count_artifacts() {
    find "fuzz/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) \
      2>/dev/null | wc -l || true
  }
  before=$(count_artifacts)
  if [ "${FUZZ_SEEDS_ONLY:-0}" = 1 ]; then
    run=(cargo +nightly fuzz run -a -O "$t" "fuzz/seeds/$t" -- -runs=0 -timeout=30 -rss_limit_mb=2048)
  else
    run=(cargo +nightly fuzz run -a -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}")
  fi
  if "${run[@]}" >"$log" 2>&1; then
    status=0
  else
    status=1
  fi
  # In fork mode libFuzzer may exit 0 after crashes: new artifacts count too.
  new=$(($(count_artifacts) - before))
  if [ "$status" != 0 ] || [ "$new" -gt 0 ]; then
    verdict=CRASHED
    failed+=("$t")
  else
    verdict=ok
  fi
  # libFuzzer's last status line: executions, coverage (cov) and features (ft).
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  if [ "${FUZZ_SEEDS_ONLY:-0}" = 1 ]; then
    echo "fuzz $t: seeds $verdict; $last"
  else
    echo "fuzz $t: $verdict after ${secs}s; $last; new artifacts: $new"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]} (see fuzz/logs/ and fuzz/artifacts/)" >&2
  exit 1
fi
