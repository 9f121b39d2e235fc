#!/usr/bin/env bash
# A thread pinned to CPU 1 runs the marked loop: it shows up in BASE_1
# (exact count), not in BASE_0.
source "$(dirname "$0")/plugin_lib.sh"
N=50000
make_initrd x86_64 "$T/initrd" qt-pinned $N
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr" || fail "qemu exit $?"
guest_ok "$T/log"
lo=$(field "$T/log" qt-pinned roi_pc_begin)
hi=$(field "$T/log" qt-pinned roi_pc_end)
want=$(field "$T/log" qt-pinned expected_insns)
c1=$(count_range "$T/tr_1" "$lo" "$hi" U)
c0=$(count_range "$T/tr_0" "$lo" "$hi" U)
note "expected $want on core 1: core 1 has $c1, core 0 has $c0"
[ "$c1" = "$want" ] || fail "core 1 count $c1 != $want"
[ "$c0" = 0 ] || fail "core 0 has $c0 ROI instructions"
echo "PASS plugin_pinned: $c1 on core 1"
