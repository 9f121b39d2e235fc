#!/usr/bin/env bash
# Shared preamble of the launcher end-to-end tests (sourced by launcher_*.sh,
# not registered as a test). Sets src, build, qt, legacy and a temp dir tmp
# removed on exit (a background run whose pid is in $runpid is killed), and
# fail/ok, which count failures in $fails for the test's final verdict.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "launcher_lib.sh: helpers only"; exit 0; }
set -uo pipefail
src=${QEMUTRACE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${QEMUTRACE_BUILD:-$src/build}
export QEMUTRACE_SRC=$src
qt=$build/bin/qemutrace
legacy=$build/bin/qemutrace-system-x86_64
tmp=$(mktemp -d "/tmp/qt-$(basename "$0" .sh).XXXXXX")
runpid=
source "$(dirname "${BASH_SOURCE[0]}")/verify_lib.sh"
# On a passing test's exit, every finished run it left must verify.
launcher_test_exit() {
  local rc=$?
  [ -n "$runpid" ] && kill "$runpid" 2>/dev/null
  if [ $rc = 0 ] && ! verify_traces "$qt" "$tmp"; then rc=1; fi
  rm -rf "$tmp"
  exit $rc
}
trap launcher_test_exit EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/../wait_lib.sh"
