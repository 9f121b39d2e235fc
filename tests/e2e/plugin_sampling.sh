#!/usr/bin/env bash
# skip=N and window=LEN,every=PERIOD on a 4M-instruction marked loop.
source "$(dirname "$0")/plugin_lib.sh"
make_initrd x86_64 "$T/initrd" qt-loop 1000000
boot x86_64 "$T/initrd" "$T/log" "base=$T/s,skip=1000000" || fail "qemu exit $?"
guest_ok "$T/log"
lo=$(field "$T/log" qt-loop roi_pc_begin); hi=$(field "$T/log" qt-loop roi_pc_end)
want=$(field "$T/log" qt-loop expected_insns)
got=0
for f in "$T"/s_[0-9]*; do got=$((got + $(count_range "$f" "$lo" "$hi" U))); done
note "skip=1000000: $got of $want loop instructions traced"
# Skipped instructions are counted on all cores (kernel included), so fewer
# than 1000000 loop instructions may be skipped; but some must be. A skip
# this short runs wholly in blocks translated for tracing (docs/plugin.md,
# the skip's tail), so tracing begins where the count reaches 1000000, give
# or take the per-core batches (at most 4096 each), whatever the host load.
# (When it waited for a flush, a loaded host let all 3M slip.)
[ "$got" -lt "$want" ] || fail "skip: all $got loop instructions traced, none skipped"
[ "$got" -ge $((want - 1000000 - 2 * 4096)) ] || fail "skip: only $got traced after the skip"
[ "$(for f in "$T"/s_[0-9]*; do "$QT" dump "$f"; done | grep -c 'skip_done')" -ge 1 ] || fail "no SKIP_DONE marker"

boot x86_64 "$T/initrd" "$T/log2" "base=$T/w,window=10000,every=100000,count_check=on" || fail "qemu exit $?"
guest_ok "$T/log2"
total=$(total_insns "$T/w")
wins=$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["events"] if e["event"]=="roi_end" and e["source"]=="window"))' "$T/w.json")
note "window=10000,every=100000: $total instructions, $wins full windows + the one the STOP marker cut"
# Every full window is exactly 10000 instructions; the last one (ended by the
# STOP marker) has at most 10000.
rest=$((total - 10000 * wins))
[ "$rest" -ge 0 ] && [ "$rest" -le 10000 ] || fail "windows are not exactly 10000 instructions ($total for $wins)"
[ "$wins" -ge 2 ] || fail "only $wins windows"
# Each core ends each of its regions once: no more window ROI_ENDs in a
# core's file than windows the run ended, and one ROI_BEGIN per region.
for f in "$T"/w_[0-9]*; do
  "$QT" dump "$f" >"$T/dump"
  ends=$(grep -c 'roi_end window' "$T/dump" || true)
  begins=$(grep -c 'roi_begin' "$T/dump" || true)
  note "$(basename "$f"): $begins ROI_BEGIN, $ends window ROI_END"
  [ "$ends" -le "$wins" ] || fail "$(basename "$f") has $ends window ROI_ENDs for $wins windows"
  [ "$begins" -le $((wins + 1)) ] || fail "$(basename "$f") has $begins ROI_BEGINs for $((wins + 1)) regions"
done
# The independent inline counter agrees with the trace under sampling too
# (a core starved of window budget runs blocks that are not traced).
grep -a 'count_check total' "$T/log2.err" | sed 's/^/  /'
grep -aq 'count_check total .* match' "$T/log2.err" || fail "count_check under window sampling"
# Window ends and gaps switch without flushing translations (docs/plugin.md):
# the flushes are the start's and the stop's, not two per window.
resets=$(grep -a 'count_check translations' "$T/log2.err" | sed -E 's/.*reset_requests=([0-9]+).*/\1/')
note "translation resets: $resets for $wins windows"
[ "$resets" -le 4 ] || fail "$resets translation resets for $wins windows"
echo "PASS plugin_sampling"
