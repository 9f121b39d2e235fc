#!/usr/bin/env bash
# Format independence (binary vs tejas) and the virtual clock: prints a
# markdown section on stdout (bench/run.sh appends it to bench/RESULTS.md).
# Environment: BUILD (default build), REPS, WORKLOADS (see bench/formats.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
exec python3 bench/formats.py
