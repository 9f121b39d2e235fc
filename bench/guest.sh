#!/usr/bin/env bash
# Guest benchmark suite: prints a markdown section on stdout (bench/run.sh
# appends it to bench/RESULTS.md), progress on stderr. See bench/README.md.
# Environment: BUILD (default build), QUICK=1 (1 rep, small sizes), REPS,
# REPS_FORMATS, REPS_ATTR, REPS_SCALE, REPS_NATIVE, FORMATS, WORKLOADS,
# SECTIONS (main decode scale peer), ATTR=0, SCALE_PROGS, SCALE_COPIES,
# BENCH_TMP, KEEP_WORK=1, TIMEOUT.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
exec python3 bench/guest/bench.py
