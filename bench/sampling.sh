#!/usr/bin/env bash
# The guest's cost of many sampling windows (manifest events): markdown on
# stdout. See bench/sampling.py and bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/sampling.py
