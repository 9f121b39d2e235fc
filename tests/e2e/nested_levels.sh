#!/usr/bin/env bash
# qemutrace run --nested, one boot: the built-in x86_64 guest loads kvm_amd
# (QEMU's emulated SVM) and qt-nested N P runs its level-2 code through
# /dev/kvm, between ROI markers (id 3) in level 2:
#   N x (add; dec; jnz)  then  P x (out; dec; jnz)  then the STOP marker.
# Oracles from that structure (guest/programs/qt-nested.c):
#  - the level-2 loop is counted exactly: 3N level-2 instructions with PCs in
#    [l2_loop_begin, l2_loop_end), the range the program prints;
#  - level 2 runs 3N + 3P instructions in the ROI, each of its code once:
#    an OUT is level 2's instruction where it exits to level 1, which
#    emulates it and moves level 2 past it (docs/guide.md, "Hypervisors");
#  - stats --json nested_instructions says the same;
#  - every VM exit is visible: level 2 is left at least P times (timer
#    interrupts add exits), each time into level-1 kernel code at one exit
#    point, and level-1 KVM code (kernel and the launcher in user mode) runs
#    between the exits.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
n=100000 p=4
t0=$(date +%s.%N)
"$qt" run --quiet --nested --args "$n $p" --trace "$tmp/n" >"$tmp/n.out" 2>"$tmp/n.err"
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[ $rc -eq 0 ] && ok "run --nested: exit 0 ($secs s)" || { fail "run --nested exit $rc: $(tail -n3 "$tmp/n.err")"; cat "$tmp/n.out" >&2; exit 1; }
line=$(grep -a '^qt-nested: ' "$tmp/n.out" | tr -d '\r' | head -n1)
[ -n "$line" ] || { fail "qt-nested printed no result line"; exit 1; }
ok "$line"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
lo=$(field l2_loop_begin) hi=$(field l2_loop_end) exits=$(field io_exits)
clo=$(field l2_code_begin) chi=$(field l2_code_end)
[ "$exits" = "$p" ] && ok "level 1 saw $p I/O exits" || fail "io_exits '$exits' != $p"

"$qt" dump "$tmp/n" >"$tmp/n.txt" 2>"$tmp/dump.err" || fail "dump: $(cat "$tmp/dump.err")"
# Level 2 is what the dump calls K2/U2, when the trace records levels; and
# its PCs are the level-2 code's [l2_code_begin, l2_code_end) either way,
# where neither the level-1 kernel nor the launcher has code.
counts=$(python3 - "$tmp/n.txt" "$lo" "$hi" "$clo" "$chi" <<'PY'
import sys
path, lo, hi, clo, chi = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16), int(sys.argv[4], 16), int(sys.argv[5], 16)
mismatch = 0      # instructions whose level and PC range disagree
loop = nested = 0
l1 = {}           # (core, level) -> instructions at level 1
exits = 0         # level 2 -> level 1 on one core
exit_points = set()
prev = {}         # core -> level of its previous instruction
l1_between = 0    # level-1 instructions between the first and last level-2 one
seen2 = {}
pending = {}
for ln in open(path):
    f = ln.split(' ', 4)
    if len(f) < 4 or not f[0].isdigit():
        continue
    core, pc, full = int(f[0]), int(f[2], 16), f[3]
    two = clo <= pc < chi
    if full.endswith('2') != two or full not in ('K', 'U', 'K2', 'U2'):
        mismatch += 1
    lv = full.rstrip('2')
    if two:
        nested += 1
        if lo <= pc < hi:
            loop += 1
        if seen2.get(core):
            l1_between += pending.get(core, 0)
        pending[core] = 0
        seen2[core] = True
    else:
        l1[(core, lv)] = l1.get((core, lv), 0) + 1
        pending[core] = pending.get(core, 0) + 1
        if prev.get(core, '').endswith('2'):
            exits += 1
            exit_points.add((lv, pc))
    prev[core] = full
k1 = sum(v for (c, lv), v in l1.items() if lv == 'K')
u1 = sum(v for (c, lv), v in l1.items() if lv == 'U')
print(loop, nested, exits, len(exit_points), ','.join('%s:%#x' % e for e in sorted(exit_points)[:3]) or '-', k1, u1, l1_between, mismatch)
PY
)
read -r loop nested vmexits npoints points k1 u1 between mismatch <<<"$counts"
[ "$loop" = $((3 * n)) ] && ok "level-2 loop: $loop instructions = 3N" || fail "level-2 loop: '$loop' instructions, want $((3 * n))"
want=$((3 * n + 3 * p))
[ "$nested" = "$want" ] && ok "level 2 in the ROI: $nested = 3N + 3P" || fail "level-2 instructions '$nested', want $want"
json=$("$qt" stats --json "$tmp/n.json" 2>"$tmp/stats.err") || fail "stats: $(cat "$tmp/stats.err")"
sn=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total"].get("nested_instructions", "absent"))' <<<"$json" 2>/dev/null)
[ "$sn" = "$want" ] && ok "stats --json nested_instructions = $sn" || fail "stats nested_instructions '$sn', want $want"
[ "$mismatch" = 0 ] && ok "every level-2 line is level-2 code and the reverse" ||
  fail "$mismatch instructions whose level (K2/U2 or not) disagrees with the level-2 code's PC range"
[ "${vmexits:-0}" -ge "$p" ] && ok "VM exits visible: level 2 left $vmexits times" || fail "level 2 left '$vmexits' times, want >= $p"
[ "$npoints" = 1 ] && [[ $points == K:0xffffffff* ]] && ok "every exit lands at one level-1 kernel exit point ($points)" ||
  fail "exit points: $npoints ($points)"
[ "${k1:-0}" -gt 0 ] && [ "${u1:-0}" -gt 0 ] && [ "${between:-0}" -gt 0 ] &&
  ok "level-1 KVM code around the exits: kernel $k1, user $u1, $between between level-2 stretches" ||
  fail "level-1 instructions: kernel '$k1' user '$u1' between '$between'"

[ $fails -eq 0 ] && echo "PASS nested_levels" || { echo "$fails failure(s)" >&2; exit 1; }
