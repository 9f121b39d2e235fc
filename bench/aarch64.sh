#!/usr/bin/env bash
# aarch64 tracing speed against plain QEMU, x86_64 beside it: prints a
# markdown section on stdout (bench/run.sh appends it to bench/RESULTS.md).
# Environment: BUILD (default build), REPS, ARCHES (see bench/aarch64.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
exec python3 bench/aarch64.py
