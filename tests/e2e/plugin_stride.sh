#!/usr/bin/env bash
# Stride walk: the data addresses of the loads inside the ROI must be exactly
# the addresses the program prints (base + i*stride), in program order within
# each core's file; physical addresses are present (phys=on by default).
source "$(dirname "$0")/plugin_lib.sh"
N=2000 STRIDE=264
make_initrd x86_64 "$T/initrd" qt-stride $N $STRIDE
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr" || fail "qemu exit $?"
guest_ok "$T/log"
lo=$(field "$T/log" qt-stride roi_pc_begin)
hi=$(field "$T/log" qt-stride roi_pc_end)
tr -d '\r' <"$T/log" | grep -a '^qt-stride: load ' | awk '{print tolower($3)}' >"$T/want"
: >"$T/got"
for f in "$T"/tr_[0-9]*; do
  loads_in_range "$f" "$lo" "$hi" >"$T/core"
  # The walk may migrate between cores: within each core's file the loads
  # keep program order (increasing addresses); across files only the set is
  # comparable.
  python3 -c 'import sys; a=[int(l,16) for l in open(sys.argv[1])]; sys.exit(a != sorted(a))' "$T/core" ||
    fail "loads out of program order in $(basename "$f")"
  cat "$T/core" >>"$T/got"
done
note "expected $(wc -l <"$T/want") loads, traced $(wc -l <"$T/got")"
[ "$(wc -l <"$T/want")" = "$N" ] || fail "program printed $(wc -l <"$T/want") loads"
diff -q <(sort "$T/want") <(sort "$T/got") >/dev/null || { diff <(sort "$T/want") <(sort "$T/got") | head; fail "load addresses differ"; }
[ "$("$QT" dump "$T/tr_0" | grep -c -E "^ +R 0x[0-9a-f]+/0x[0-9a-f]+ ")" -gt 0 ] || fail "no physical addresses"
echo "PASS plugin_stride: $N loads at stride $STRIDE match"
