# Sourced by the launcher's command-line tests (no guest boots): the build's
# binaries, a temp dir removed at exit, and ok/fail counting into $fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${QEMUTRACE_SRC:-$(cd "$here/../.." && pwd)}
build=${QEMUTRACE_BUILD:-$src/build}
export QEMUTRACE_SRC=$src
qt=$build/bin/qemutrace
legacy=$build/bin/qemutrace-system-x86_64
tmp=$(mktemp -d "/tmp/qt-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
source "$here/../wait_lib.sh"
