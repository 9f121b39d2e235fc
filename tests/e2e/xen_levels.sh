#!/usr/bin/env bash
# qemutrace run --xen: the built-in guest as dom0 under Xen 4.17 (x86_64 PV),
# one boot with one vCPU running two marked regions in dom0:
#  - qt-loop N: dom0 user instructions in its region equal the count the
#    program prints (1+4N, from the loop's structure);
#  - qt-syscall N: every system call of a 64-bit PV guest enters Xen first,
#    so its region holds hypervisor and dom0 kernel instructions, and at
#    least N entries into Xen from dom0 user code;
#  - addresses match the attribution: hypervisor code in Xen's range
#    (0xffff800000000000..0xffff87ffffffffff), dom0 kernel code in the upper
#    half, dom0 user code in the lower half;
#  - the manifest's level counts equal what stats reads; the text format
#    converted from the trace names the levels.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --xen >/dev/null 2>"$tmp/build.err" || { echo "FAIL: qemutrace guest build --xen: $(tail -n1 "$tmp/build.err")" >&2; exit 1; }
loops=100000 calls=200
printf '#!/bin/sh\nqt-loop %s && qt-syscall %s\n' $loops $calls >"$tmp/both.sh"
t0=$(date +%s)
"$qt" run --xen --quiet --smp 1 --program "$tmp/both.sh" --trace "$tmp/x" >"$tmp/x.out" 2>"$tmp/x.err"
rc=$?
[ $rc -eq 0 ] && ok "run --xen: exit 0 ($(( $(date +%s) - t0 )) s)" || { fail "run --xen exit $rc: $(tail -n3 "$tmp/x.err")"; exit 1; }
want=$(sed -n 's/.*qt-loop: .*expected_insns=\([0-9]*\).*/\1/p' "$tmp/x.out" | tr -d '\r' | head -n1)
grep -q "qt-syscall: .*ok=1" "$tmp/x.out" && ok "dom0 ran qt-syscall" || fail "no qt-syscall line on the console"
[ -n "$want" ] || fail "qt-loop printed no expected_insns"

# Per region and level, from the dump: "core index 0xPC LEVEL bytes asm".
"$qt" dump "$tmp/x_0" >"$tmp/x.txt" 2>"$tmp/dump.err" || fail "dump: $(cat "$tmp/dump.err")"
read -r r1 r2 bad <<<"$(python3 - "$tmp/x.txt" <<'PY'
import sys
regions, cur, prev, bad = [], None, None, 0
for line in open(sys.argv[1]):
    w = line.split()
    if not w or line.startswith("  "):
        continue
    if w[0] == "M":
        if w[1] == "roi_begin":
            cur = {"U": 0, "K": 0, "H": 0, "entries": 0}
            regions.append(cur)
            prev = None
        elif w[1] in ("roi_end", "limit_reached"):
            cur = None
        continue
    if cur is None:
        continue
    pc, lv = int(w[2], 16), w[3]
    cur[lv] += 1
    if lv == "H" and prev == "U":
        cur["entries"] += 1
    # The rule's address ranges: Xen's own, dom0 kernel upper half, user lower.
    if (lv == "H" and not 0xffff800000000000 <= pc < 0xffff880000000000) or \
       (lv == "K" and pc < 1 << 63) or (lv == "U" and pc >= 1 << 63):
        bad += 1
    prev = lv
f = lambda r: "%d/%d/%d/%d" % (r["U"], r["K"], r["H"], r["entries"])
print(f(regions[0]) if regions else "-", f(regions[1]) if len(regions) > 1 else "-", bad)
PY
)"
echo "regions (user/kernel/hypervisor/entries into Xen from user): loop $r1, syscalls $r2"
IFS=/ read -r lu lk lh _ <<<"$r1"
IFS=/ read -r su sk sh se <<<"$r2"
[ "$lu" = "$want" ] && ok "loop region: dom0 user instructions = expected_insns = $want" ||
  fail "loop region: dom0 user instructions '$lu' != expected_insns '$want'"
# Xen runs in the loop's region only when an interrupt comes, and then
# dom0's kernel takes the event too.
if [ "$lk" = 0 ]; then
  [ "$lh" = 0 ] && ok "loop region without interrupts: 0 hypervisor instructions" || fail "loop region: $lh hypervisor instructions without any kernel ones"
else
  ok "loop region saw interrupts: $lk kernel, $lh hypervisor instructions"
fi
[ "${sh:-0}" -gt 0 ] && [ "${sk:-0}" -gt 0 ] && ok "syscall region: $sh hypervisor, $sk dom0 kernel instructions" ||
  fail "syscall region: hypervisor '$sh', kernel '$sk' (both must be > 0)"
[ "${se:-0}" -ge $calls ] && ok "syscall region: $se entries into Xen from dom0 user code (>= $calls system calls)" ||
  fail "syscall region: $se entries into Xen from user code, fewer than $calls system calls"
[ "$bad" = 0 ] && ok "every instruction's address lies in its level's range" || fail "$bad instructions outside their level's range"

# The manifest's level counts are the writer's: they must equal the reader's.
"$qt" stats --json "$tmp"/x_[0-9]* >"$tmp/stats.json" 2>"$tmp/stats.err" || fail "stats: $(cat "$tmp/stats.err")"
diffs=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
keys = ("instructions", "kernel_instructions", "hypervisor_instructions", "nested_instructions")
bad = ["%s: manifest %s stats %s" % (k, m["totals"].get(k), s["total"][k]) for k in keys if m["totals"].get(k) != s["total"][k]]
t = s["total"]
if t["kernel_instructions"] + t["user_instructions"] + t["hypervisor_instructions"] != t["instructions"]: bad.append("levels do not add up")
print("; ".join(bad) if bad else "none")' "$tmp/x.json" "$tmp/stats.json" 2>&1)
[ "$diffs" = none ] && ok "manifest level counts = stats; kernel + user + hypervisor = instructions" || fail "$diffs"

# The text format names the levels.
"$qt" convert --to text "$tmp/x.json" -o "$tmp/t" >/dev/null 2>"$tmp/conv.err" || fail "convert --to text: $(cat "$tmp/conv.err")"
for lv in H K U; do
  grep -qm1 "^0 [0-9]* 0x[0-9a-f]* $lv " "$tmp"/t_0* && ok "text format shows level $lv" || fail "text format has no level $lv line"
done

[ $fails -eq 0 ] && echo "PASS xen_levels" || { echo "$fails failure(s)" >&2; exit 1; }
