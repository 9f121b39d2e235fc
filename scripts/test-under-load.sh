#!/usr/bin/env bash
# The suite under load: a busy loop on every host core while `make test`'s
# ctest run goes RUNS times in a row (default 2). The tests wait on
# handshakes, never on time, so they must pass when they get only a share of
# the cores. Prints one line per run; exits non-zero if any run failed.
#   bash scripts/test-under-load.sh [BUILD]   (RUNS, TEST_JOBS, CTEST_ARGS: extra ctest options)
set -u
build=${1:-build}
runs=${RUNS:-2}
jobs=${TEST_JOBS:-$(nproc)}
[ -f "$build/CTestTestfile.cmake" ] || { echo "test-under-load: no test tree in $build: run make build first" >&2; exit 1; }
hogs=()
stop_hogs() { [ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null; }
trap stop_hogs EXIT
for _ in $(seq "$(nproc)"); do
  bash -c 'while :; do :; done' &
  hogs+=($!)
done
failed=0
for n in $(seq "$runs"); do
  t0=$(date +%s)
  log=$(mktemp "${TMPDIR:-/tmp}/qemutrace-under-load.$n.XXXXXX")
  if ctest --test-dir "$build" --output-on-failure -j "$jobs" -LE slow ${CTEST_ARGS:-} >"$log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED
    failed=1
  fi
  summary=$(grep -E 'tests passed|tests failed' "$log" | tail -n1)
  echo "test-under-load: run $n of $runs $verdict in $(($(date +%s) - t0)) s, ${#hogs[@]} busy loops, load $(cut -d' ' -f1-3 /proc/loadavg): $summary (log $log)"
done
exit $failed
