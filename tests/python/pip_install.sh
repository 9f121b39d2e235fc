#!/usr/bin/env bash
# `pip install` from the repository works offline, as README says: into a
# fresh venv of Debian's /usr/bin/python3 (--system-site-packages for its
# numpy, setuptools and wheel), with --no-build-isolation and --no-index
# so nothing is fetched. The source is a copy of the tracked files (pip
# builds in the tree and writes egg-info there), at a fixed place in the
# build tree with their times kept, so that the CMake build kept there too
# rebuilds only what changed. The installed package,
# imported from outside the tree, reads the golden trace with the counts
# dump prints for it.
set -euo pipefail
SRC=${QEMUTRACE_SRC:?}
BUILD=${QEMUTRACE_BUILD:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

COPY=$BUILD/pip-install/src
rm -rf "$COPY" && mkdir -p "$COPY"
# git knows the tracked files; a tree without .git (an export) copies all but builds.
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$SRC" && git ls-files -co --exclude-standard -z | xargs -0 cp -p --parents -t "$COPY")
else
  cp -a "$SRC"/. "$COPY" && rm -rf "$COPY"/build*
fi
/usr/bin/python3 -m venv --system-site-packages "$T/venv" || fail "python3 -m venv (install python3-venv)"
QEMUTRACE_PIP_CMAKE_DIR="$BUILD/pip-install/cmake" "$T/venv/bin/pip" install --quiet --no-build-isolation \
  --no-index "$COPY" >"$T/pip.log" 2>&1 || { tail -n 20 "$T/pip.log" >&2; fail "pip install"; }

golden="$SRC/tests/golden/format/tiny.qtr"
want=$("$BUILD/bin/qemutrace" dump "$golden" | grep -cE '^ *[0-9]+ ')
got=$(cd "$T" && "$T/venv/bin/python" -c '
import sys, qemutrace
assert qemutrace.__file__.startswith(sys.prefix), "imported from " + qemutrace.__file__
print(sum(len(c.instructions) for c in qemutrace.open(sys.argv[1]).chunks()))' "$golden") ||
  fail "import qemutrace from the venv"
[ "$got" = "$want" ] || fail "installed package read $got instructions, dump printed $want"
echo "PASS pip install: $got instructions of tiny.qtr read by the installed package"
