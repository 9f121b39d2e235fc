#!/usr/bin/env bash
# i386 guest (qemu-system-i386, Debian's 686 kernel), -smp 2: the marked
# loop's user-mode count is exact, legacy markers give the same count, and
# the independent counter agrees.
source "$(dirname "$0")/plugin_lib.sh"
N=100000
count_for() {  # PROG MARKERS
  make_initrd i386 "$T/initrd.$1" "$1" $N
  boot i386 "$T/initrd.$1" "$T/log.$1" "base=$T/$1,markers=$2,count_check=on" || fail "qemu exit $?"
  guest_ok "$T/log.$1"
  local lo hi got=0
  lo=$(field "$T/log.$1" "$1" roi_pc_begin)
  hi=$(field "$T/log.$1" "$1" roi_pc_end)
  for f in "$T/$1"_[0-9]*; do got=$((got + $(count_range "$f" "$lo" "$hi" U))); done
  grep -aq 'count_check total .* match' "$T/log.$1.err" || fail "count_check: $(cat "$T/log.$1.err")"
  echo "$got $(field "$T/log.$1" "$1" expected_insns)"
}
read -r nop want <<<"$(count_for qt-loop nop)"
read -r leg want_leg <<<"$(count_for qt-legacy int)"
note "i386 NOP markers: $nop (expected $want); int markers: $leg (expected $want_leg)"
[ "$nop" = "$want" ] || fail "i386 nop count $nop != $want"
[ "$leg" = "$want_leg" ] || fail "i386 legacy count $leg != $want_leg"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["isa"]=="i386", m["isa"]' "$T/qt-loop.json" || fail "manifest isa"
echo "PASS plugin_i386: $nop == $want"
