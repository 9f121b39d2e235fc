#!/usr/bin/env bash
# i386 guest (qemu-system-i386, Debian's 686 kernel), -smp 2: the marked
# loop's user-mode count is exact, legacy markers give the same count, and
# the independent counter agrees.
source "$(dirname "$0")/plugin_lib.sh"
N=100000
count_for() {  # PROG MARKERS
  roi_count i386 "$1" "$2" count_check=on
  grep -aq 'count_check total .* match' "$T/log.$1.err" || fail "count_check: $(cat "$T/log.$1.err")"
}
read -r nop want <<<"$(count_for qt-loop nop)"
read -r leg want_leg <<<"$(count_for qt-legacy int)"
note "i386 NOP markers: $nop (expected $want); int markers: $leg (expected $want_leg)"
[ "$nop" = "$want" ] || fail "i386 nop count $nop != $want"
[ "$leg" = "$want_leg" ] || fail "i386 legacy count $leg != $want_leg"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["isa"]=="i386", m["isa"]' "$T/qt-loop.json" || fail "manifest isa"
echo "PASS plugin_i386: $nop == $want"
