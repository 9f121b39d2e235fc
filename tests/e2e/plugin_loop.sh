#!/usr/bin/env bash
# Marked loop (magic NOP markers) on x86_64, -smp 2: the user-mode
# instructions with PC in the printed ROI range must be exactly the printed
# expected count; an independent inline counter (count_check=on) must agree
# with the summed per-core counts.
source "$(dirname "$0")/plugin_lib.sh"
N=${N:-100000}
make_initrd x86_64 "$T/initrd" qt-loop "$N"
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr,count_check=on" || fail "qemu exit $?"
guest_ok "$T/log"
lo=$(field "$T/log" qt-loop roi_pc_begin)
hi=$(field "$T/log" qt-loop roi_pc_end)
want=$(field "$T/log" qt-loop expected_insns)
got=0
for f in "$T"/tr_[0-9]*; do got=$((got + $(count_range "$f" "$lo" "$hi" U))); done
note "qt-loop $N: ROI [$lo,$hi) expected $want, traced $got"
[ "$got" = "$want" ] || fail "loop count $got != $want"
"$QT" verify "$T/tr" >/dev/null || fail "verify"
grep -a 'count_check total' "$T/log.err" | sed 's/^/  /'
grep -aq 'count_check total .* match' "$T/log.err" || fail "count_check mismatch: $(cat "$T/log.err")"
total=$(total_insns "$T/tr")
cc=$(grep -a 'count_check total' "$T/log.err" | sed -E 's/.*traced=([0-9]+).*/\1/')
[ "$total" = "$cc" ] || fail "stats total $total != plugin's $cc"
python3 - "$T/tr.json" <<'PY' || fail "manifest"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["complete"], "manifest not complete"
ev = [e["event"] for e in m["events"]]
assert "roi_begin" in ev and "roi_end" in ev, ev
assert m["qemu_version"], "no qemu_version"
PY
echo "PASS plugin_loop: $got == $want"
