#!/usr/bin/env bash
# Shared helpers for the plugin end-to-end tests (sourced by plugin_*.sh).
# Run directly, it does nothing (ctest picks up every *.sh here).
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "plugin_lib.sh: helpers only"; exit 0; }
set -euo pipefail

QEMUTRACE_SRC=${QEMUTRACE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QEMUTRACE_BUILD=${QEMUTRACE_BUILD:-$QEMUTRACE_SRC/build}
PLUGIN=$QEMUTRACE_BUILD/lib/libqemutrace.so
QT=$QEMUTRACE_BUILD/bin/qemutrace
[ -f "$PLUGIN" ] || { echo "FAIL: $PLUGIN not built"; exit 1; }
[ -x "$QT" ] || { echo "FAIL: $QT not built"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/verify_lib.sh"
T=$(mktemp -d /tmp/qt-plugin-test.XXXXXX)
# At exit, a QEMU still running in the background (a test that failed while
# waiting on it) is ended: the boot's `timeout` passes the signal on. On a
# passing test's exit, every finished run it left must verify.
end_background() { local j; for j in $(jobs -p); do pkill -TERM -P "$j" 2>/dev/null; done; }
plugin_test_exit() {
  local rc=$?
  end_background
  if [ $rc = 0 ] && ! verify_traces "$QT" "$T"; then rc=1; fi
  [ -n "${KEEP:-}" ] && echo "keeping $T" || rm -rf "$T"
  exit $rc
}
trap plugin_test_exit EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "  $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/../wait_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh"

# guest_dir ARCH: builds (or reuses) the cached guest image.
guest_dir() {
  "$QEMUTRACE_SRC/guest/build-image.sh" --arch "$1" | tail -n1
}

# make_initrd ARCH OUT PROG ARGS...: guest initrd running /bin/PROG ARGS.
make_initrd() {
  local arch=$1 out=$2 prog=$3
  shift 3
  local g
  g=$(guest_dir "$arch")
  "$QEMUTRACE_SRC/guest/add-workload.sh" "$T/extra.cpio" "$g/programs/$prog" "$@"
  cat "$g/initrd.img" "$T/extra.cpio" >"$out"
}

# boot ARCH INITRD CONSOLE_LOG PLUGIN_OPTS [QEMU ARGS...]: boots with -smp 2.
# The plugin's stderr goes to CONSOLE_LOG.err. Returns QEMU's status (124:
# still running after QT_DEADLINE seconds, and ended with SIGTERM).
boot() {
  local arch=$1 initrd=$2 log=$3 opts=$4
  shift 4
  local g qemu append
  g=$(guest_dir "$arch")
  qemu=qemu-system-$arch
  append=$(guest_append "$QT" "$arch") || fail "no kernel command line for the $arch guest"
  local plug=()
  [ -n "$opts" ] && plug=(-plugin "$PLUGIN,$opts")
  timeout "$QT_DEADLINE" "$qemu" -smp 2 -m 512M -kernel "$g/vmlinuz" -initrd "$initrd" \
    -append "$append" -display none -serial "file:$log" -monitor none -no-reboot \
    "${plug[@]}" "$@" 2>"$log.err"
}

# guest_ok LOG: the workload exited 0.
guest_ok() { tr -d '\r' <"$1" | grep -q 'qemutrace-guest: exit 0' || { cat "$1" "$1.err" >&2; fail "guest did not finish cleanly"; }; }

# field LOG PROGRAM KEY: value of KEY=... on the program's oracle line.
field() { tr -d '\r' <"$1" | grep -a "^$2: .*$3=" | head -n1 | sed -E "s/.*[ :]$3=([^ ]+).*/\1/"; }

# count_range FILE LO HI [U|K]: instructions with LO <= pc < HI (hex) and
# the given mode in a per-core trace file.
count_range() {
  "$QT" dump "$1" | awk -v lo="$2" -v hi="$3" -v m="${4:-U}" '
    function h(s,   i, c, v) {
      v = 0; s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v
    }
    BEGIN { l = h(lo); u = h(hi) }
    $1 ~ /^[0-9]+$/ && NF >= 4 { pc = h($3); if ($4 == m && pc >= l && pc < u) n++ }
    END { print n + 0 }'
}

# roi_count ARCH PROG MARKERS [PLUGIN_OPTS]: boots PROG $N with the given
# markers= and prints "<user instructions traced in its ROI> <expected>",
# the ROI being the program's printed [roi_pc_begin, roi_pc_end).
roi_count() {
  local arch=$1 prog=$2 markers=$3 extra=${4:+,$4}
  make_initrd "$arch" "$T/initrd.$prog" "$prog" "$N"
  boot "$arch" "$T/initrd.$prog" "$T/log.$prog" "base=$T/$prog,markers=$markers$extra" || fail "qemu exit $?"
  guest_ok "$T/log.$prog"
  local lo hi got=0 f
  lo=$(field "$T/log.$prog" "$prog" roi_pc_begin)
  hi=$(field "$T/log.$prog" "$prog" roi_pc_end)
  for f in "$T/$prog"_[0-9]*; do got=$((got + $(count_range "$f" "$lo" "$hi" U))); done
  echo "$got $(field "$T/log.$prog" "$prog" expected_insns)"
}

# total_insns BASE: instructions in all cores (from stats --json).
total_insns() {
  "$QT" stats --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])'
}

# reader_python ARGS...: the interpreter the Python reader was built for,
# with it importable; for fields `dump` does not print (the address space).
reader_python() {
  [ -n "${QEMUTRACE_READER_PYTHON:-}" ] ||
    fail "this test reads the trace with the Python reader: configure with -DQEMUTRACE_PYTHON=ON"
  PYTHONPATH="$QEMUTRACE_READER_PATH" "$QEMUTRACE_READER_PYTHON" "$@"
}

# user_by_space BASE LO HI: "<address spaces that ran user code in
# [LO,HI)> <user instructions in those spaces> <user instructions in others>".
user_by_space() {
  reader_python - "$@" <<'PY'
import sys
import qemutrace
base, lo, hi = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
chunks = [c.instructions for c in qemutrace.open(base).chunks()]
user = [ins[(ins["level"] & 3) == qemutrace.LEVEL_USER] for ins in chunks]
spaces = set()
for u in user:
    spaces.update(int(a) for a in u["asid"][(u["pc"] >= lo) & (u["pc"] < hi)])
inside = sum(int(sum((u["asid"] == a).sum() for a in spaces)) for u in user)
print(len(spaces), inside, sum(len(u) for u in user) - inside)
PY
}

# make_initrd_script ARCH OUT 'shell commands': guest initrd whose workload is
# the given /qt/run.sh script (programs are in /bin).
make_initrd_script() {
  local arch=$1 out=$2 script=$3 g d
  g=$(guest_dir "$arch")
  d=$(mktemp -d "$T/cpio.XXXXXX")
  mkdir -p "$d/qt"
  printf '#!/bin/sh\n%s\n' "$script" >"$d/qt/run.sh"
  chmod 0755 "$d/qt/run.sh"
  (cd "$d" && printf '%s\n' qt qt/run.sh | cpio -o -H newc -R 0:0 --quiet >"$d.cpio")
  cat "$g/initrd.img" "$d.cpio" >"$out"
}

# loads_in_range FILE LO HI: data addresses of loads by user instructions
# with LO <= pc < HI, one per line, in order.
loads_in_range() {
  "$QT" dump "$1" | awk -v lo="$2" -v hi="$3" '
    function h(s,   i, c, v) {
      v = 0; s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v
    }
    BEGIN { l = h(lo); u = h(hi) }
    $1 ~ /^[0-9]+$/ && NF >= 4 { pc = h($3); in_roi = ($4 == "U" && pc >= l && pc < u); next }
    $1 == "R" && in_roi { split($2, a, "/"); print tolower(a[1]) }'
}
