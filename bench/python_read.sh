#!/usr/bin/env bash
# Python reader speed against the C++ reader (bench/python_read.py) on a
# trace of a real kernel: the built-in guest's boot and busybox init on 2
# cores, the first PY_BENCH_INSNS instructions from power-on. Prints a
# markdown section on stdout (bench/run.sh appends it to bench/RESULTS.md).
# Environment: BUILD (default build), PY_BENCH_TRACE (an existing run base
# or core file instead), PY_BENCH_INSNS (default 60000000), REPS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
trace=${PY_BENCH_TRACE:-}
if [ -z "$trace" ]; then
  trace=$tmp/boot
  "$BUILD/bin/qemutrace" run --smp 2 --start now --limit "${PY_BENCH_INSNS:-60000000}" --exit-on-limit \
    --quiet --trace "$trace" >&2
fi
exec python3 bench/python_read.py "$BUILD" "$trace" "${REPS:-5}"
