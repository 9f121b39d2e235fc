#!/usr/bin/env bash
# Physical addresses against the guest kernel's own page tables: qt-phys
# loads one word per page, moves other frames under the same virtual pages
# with mremap, and loads again, all inside one ROI, then prints both frame
# lists from /proc/self/pagemap. Every traced load of pass 1 must carry its
# page's pass-1 frame, every load of pass 2 the pass-2 frame (a translation
# kept across the kernel's TLB flush would show the old frame).
source "$(dirname "$0")/plugin_lib.sh"
N=32  # fits the plugin's translation cache, so a stale entry would be hit
make_initrd x86_64 "$T/initrd" qt-phys $N
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr" || fail "qemu exit $?"
guest_ok "$T/log"
for k in p1_begin p1_end p2_begin p2_end; do
  declare "$k=$(field "$T/log" qt-phys $k)"
  [ -n "${!k}" ] || fail "qt-phys printed no $k"
done
tr -d '\r' <"$T/log" | grep -a '^qt-phys: pass=' >"$T/frames"
[ "$(wc -l <"$T/frames")" = $((2 * N)) ] || fail "program printed $(wc -l <"$T/frames") frame lines, want $((2 * N))"
for f in "$T"/tr_[0-9]*; do "$QT" dump "$f"; done >"$T/dump"
python3 - "$T/frames" "$T/dump" "$p1_begin" "$p1_end" "$p2_begin" "$p2_end" "$N" <<'PY' || fail "physical addresses do not match the guest's page tables"
import re, sys
frames_path, dump_path = sys.argv[1], sys.argv[2]
ranges = {1: (int(sys.argv[3], 16), int(sys.argv[4], 16)), 2: (int(sys.argv[5], 16), int(sys.argv[6], 16))}
n = int(sys.argv[7])
want = {1: {}, 2: {}}
for line in open(frames_path):
    m = re.match(r"qt-phys: pass=(\d) vaddr=(0x[0-9a-f]+) paddr=(0x[0-9a-f]+)", line)
    want[int(m.group(1))][int(m.group(2), 16)] = int(m.group(3), 16)
if any(want[1][v] == want[2][v] for v in want[1]):
    sys.exit("pass 1 and pass 2 share a frame: the test proves nothing")
seen = {1: 0, 2: 0}
bad = []
cur = None
for line in open(dump_path):
    f = line.split()
    if len(f) >= 4 and f[0].isdigit():
        pc = int(f[2], 16)
        cur = next((p for p, (lo, hi) in ranges.items() if f[3] == "U" and lo <= pc < hi), None)
        continue
    if cur and f and f[0] == "R" and "/" in f[1]:
        va, pa = (int(x, 16) for x in f[1].split("/"))
        page = va & ~0xfff
        if page not in want[cur]:
            continue
        seen[cur] += 1
        exp = want[cur][page] | (va & 0xfff)
        if pa != exp:
            bad.append(f"pass {cur}: load of {va:#x} traced at {pa:#x}, page tables say {exp:#x}")
print(f"  pass 1: {seen[1]} loads, pass 2: {seen[2]} loads, {len(bad)} wrong")
for b in bad[:5]:
    print("  " + b)
if seen[1] != n or seen[2] != n:
    sys.exit(f"want {n} loads per pass")
sys.exit(1 if bad else 0)
PY
echo "PASS plugin_phys: $N pages, both passes carry the guest's frames"
