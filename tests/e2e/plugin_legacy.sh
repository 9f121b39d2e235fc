#!/usr/bin/env bash
# int $100 / int $101 (under qemutrace-guest-run) give the same count as the
# magic NOP markers for the same loop.
source "$(dirname "$0")/plugin_lib.sh"
N=100000
count_for() { roi_count x86_64 "$1" "$2"; }  # PROG MARKERS
read -r nop want_nop <<<"$(count_for qt-loop nop)"
read -r leg want_leg <<<"$(count_for qt-legacy int)"
note "NOP markers: $nop (expected $want_nop); int \$100/\$101: $leg (expected $want_leg)"
[ "$nop" = "$want_nop" ] || fail "nop count"
[ "$leg" = "$want_leg" ] || fail "legacy count"
[ "$leg" = "$nop" ] || fail "legacy $leg != nop $nop"
[ "$(for f in "$T"/qt-legacy_[0-9]*; do "$QT" dump "$f"; done | grep -c 'roi_begin legacy_int')" -gt 0 ] || fail "no legacy_int ROI_BEGIN"
echo "PASS plugin_legacy: $leg == $nop"
