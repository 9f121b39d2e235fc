#!/usr/bin/env bash
# The aarch64 guest (qemu-system-aarch64 -M virt, Debian's arm64 kernel),
# -smp 2, traced by `qemutrace run --arch aarch64`. One boot runs four
# programs one after another on CPU 1, each in its own region (the k-th
# ROI_BEGIN of BASE_1 is the k-th program; CPU 0 may idle through a short
# region and then has no ROI_BEGIN for it, so its regions are not numbered),
# and each program's printed oracle is checked against its region:
#   1 qt-loop N      user instructions in its loop's PC range = 1+4N exactly;
#   2 qt-stride      the loads in its walk's PC range are the addresses it
#                    printed, in order;
#   3 qt-syscall N   exactly N `svc` in user mode, kernel (EL1) instructions
#                    after them, and user ones between;
#   4 qt-pinned N    its thread, pinned to CPU 1, is found in BASE_1 only.
# Then ChampSim: the loop's b.ne records are conditional branches by
# ChampSim's own rules, and ChampSim simulates the loop's core.
source "$(dirname "$0")/sim_lib.sh"

LOOP_N=1000000 STRIDE_N=64 STRIDE=4096 SYS_N=50 PIN_N=100000
cat >"$T/multi.sh" <<EOS
#!/bin/sh
busybox taskset 0x2 qt-loop $LOOP_N || exit 11
busybox taskset 0x2 qt-stride $STRIDE_N $STRIDE || exit 12
busybox taskset 0x2 qt-syscall $SYS_N || exit 13
qt-pinned $PIN_N || exit 14
EOS
t0=$(date +%s)
"$QT" run --arch aarch64 --quiet --program "$T/multi.sh" --trace "$T/a" >"$T/run.out" 2>"$T/run.err" ||
  { tail -20 "$T/run.out" "$T/run.err" >&2; fail "qemutrace run --arch aarch64 exit $?"; }
note "boot and trace: $(( $(date +%s) - t0 )) s"
tr -d '\r' <"$T/run.out" >"$T/console"
grep -q 'qemutrace-guest: arch=aarch64 .* cpus=2' "$T/console" || fail "not an aarch64 guest with 2 CPUs"
grep -q 'qemutrace-guest: exit 0' "$T/console" || { tail -20 "$T/console" >&2; fail "workload did not exit 0"; }
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["isa"]=="aarch64", m["isa"]' "$T/a.json" ||
  fail "manifest isa is not aarch64"

# The per-core files, BASE_<k>.
cores=()
for f in "$T"/a_[0-9]*; do if [[ $f =~ _[0-9]+$ ]]; then cores+=("$f"); fi; done
[ ${#cores[@]} = 2 ] || fail "${#cores[@]} per-core files, want 2"
for f in "${cores[@]}"; do "$QT" dump "$f" >"$f.txt" || fail "dump $f"; done
# region_stats DUMP: "key value" lines: per region k (rk.*) the user (U) and
# kernel (K) instructions, those in each program's PC range, the svc and
# the svc followed by kernel code; the stride walk's load addresses.
region_stats() {
  python3 - "$1" \
    "$(field "$T/console" qt-loop roi_pc_begin)" "$(field "$T/console" qt-loop roi_pc_end)" \
    "$(field "$T/console" qt-stride roi_pc_begin)" "$(field "$T/console" qt-stride roi_pc_end)" \
    "$(field "$T/console" qt-pinned roi_pc_begin)" "$(field "$T/console" qt-pinned roi_pc_end)" <<'PY'
import sys
path = sys.argv[1]
loop, stride, pinned = [(int(sys.argv[i], 16), int(sys.argv[i + 1], 16)) for i in (2, 4, 6)]
region = 0
n = {}
def add(key, v=1): n[key] = n.get(key, 0) + v
loads = []
in_stride = False
prev_svc = False
for line in open(path):
    if line.startswith("M roi_begin"):
        region += 1
        add(f"r{region}.begins")
        continue
    if line.startswith("  R ") and in_stride and region == 2:
        loads.append(line.split()[1].split("/")[0])
        continue
    f = line.split(None, 5)
    if len(f) < 5 or not f[0].isdigit():
        continue
    pc, mode, text = int(f[2], 16), f[3], (f[5] if len(f) > 5 else "")
    in_stride = mode == "U" and stride[0] <= pc < stride[1]
    r = f"r{region}"
    add(f"{r}.{mode}")
    if mode == "U" and loop[0] <= pc < loop[1]: add(f"{r}.loop")
    if mode == "U" and pinned[0] <= pc < pinned[1]: add(f"{r}.pinned")
    if mode == "U" and text.startswith("svc"): add(f"{r}.svc")
    if prev_svc and mode == "K": add(f"{r}.svc_then_kernel")
    prev_svc = mode == "U" and text.startswith("svc")
print("regions", region)
for k, v in sorted(n.items()): print(k, v)
print("loads", ",".join(loads))
PY
}
get() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }
for f in "${cores[@]}"; do region_stats "$f.txt" >"$f.stats" || fail "reading $f"; done
[ "$(get "$T/a_1.stats" regions)" = 4 ] || fail "a_1: $(get "$T/a_1.stats" regions) regions, want 4 (one per program)"
[ "$(get "$T/a_0.stats" regions)" -le 4 ] || fail "a_0: $(get "$T/a_0.stats" regions) regions, want at most 4"
# Every program runs on CPU 1: its counts come from BASE_1's numbered regions.
sum() { get "$T/a_1.stats" "$1"; }

# 1. Exact count.
want=$(field "$T/console" qt-loop expected_insns)
got=$(sum r1.loop)
note "qt-loop $LOOP_N: $got user instructions in its loop (expected $want)"
[ "$got" = "$want" ] || fail "qt-loop count $got != $want"

# 2. Stride addresses, in the order the program printed them.
want=$(tr -d '\r' <"$T/console" | sed -n 's/^qt-stride: load 0x\([0-9a-f]*\)$/0x\1/p' | paste -sd,)
got=$(awk '$1 == "loads" && $2 != "" { print $2 }' "$T/a_1.stats")
[ "$(tr ',' '\n' <<<"$want" | grep -c .)" = "$STRIDE_N" ] || fail "qt-stride printed no $STRIDE_N addresses"
[ "$got" = "$want" ] || fail "qt-stride loads differ: got ${got:0:120}... want ${want:0:120}..."
note "qt-stride: the $STRIDE_N load addresses it printed, in order"

# 3. Kernel/user split around the system calls.
svc=$(sum r3.svc) then_k=$(sum r3.svc_then_kernel) k=$(sum r3.K) u=$(sum r3.U)
note "qt-syscall $SYS_N: $svc svc in EL0, $then_k followed by EL1 code; region: $u user, $k kernel"
[ "$svc" = "$SYS_N" ] || fail "qt-syscall: $svc svc instructions traced, want $SYS_N"
[ "$then_k" = "$SYS_N" ] || fail "qt-syscall: $then_k of $SYS_N svc followed by kernel instructions"
[ "$k" -gt $((SYS_N * 20)) ] || fail "qt-syscall: only $k kernel instructions for $SYS_N system calls"
"$QT" stats --json "$T/a" >"$T/stats.json" || fail "stats"
python3 - "$T/stats.json" <<'PY' || fail "stats: kernel_instructions missing or zero"
import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert t["kernel_instructions"] > 0 and t["user_instructions"] > 0, t
PY

# 4. The pinned thread on CPU 1.
want=$(field "$T/console" qt-pinned expected_insns)
[ "$(field "$T/console" qt-pinned cpu)" = 1 ] || fail "qt-pinned did not run on CPU 1"
on1=$(get "$T/a_1.stats" r4.pinned)
on0=$(awk '$1 ~ /^r[0-9]+\.pinned$/ { s += $2 } END { print s + 0 }' "$T/a_0.stats")  # any of its regions
note "qt-pinned $PIN_N: $on1 instructions in BASE_1, $on0 in BASE_0 (expected $want, 0)"
[ "$on1" = "$want" ] && [ "$on0" = 0 ] || fail "qt-pinned: BASE_1 $on1, BASE_0 $on0; want $want, 0"

# 5. ChampSim. The records of the loop's b.ne (its last instruction) must be
# what ChampSim's classifier (inc/instruction.h: reads IP, writes IP, reads
# flags or another register, not SP) calls a conditional branch, taken on
# every iteration but the last, except where an interrupt followed it (a
# DISCONTINUITY marker with its PC: outcome unknown, written not taken, see
# docs/simulator-formats.md); then ChampSim simulates the loop's core.
champsim_ready
"$QT" convert --to champsim "$T/a" -o "$T/a-cs" >/dev/null || fail "convert --to champsim"
k=1  # the loop ran on CPU 1
bne=$(printf '0x%x' $(( $(field "$T/console" qt-loop roi_pc_end) - 4 )))
interrupted=$(grep -c "^M discontinuity .* value=$bne\$" "$T/a_$k.txt" || true)
python3 - "$T/a-cs_$k.champsimtrace.xz" "$bne" "$LOOP_N" "$interrupted" <<'PY' || fail "ChampSim records of the loop's b.ne"
import lzma, struct, sys
path, pc, n, d = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3]), int(sys.argv[4])
SP, FLAGS, IP = 6, 25, 26
rec = struct.Struct("<QBB2B4B2Q4Q")
seen = taken = 0
kinds = set()
with lzma.open(path) as f:
    data = f.read()
for r in rec.iter_unpack(data):
    if r[0] != pc: continue
    seen += 1
    taken += r[2]
    dst = {x for x in r[3:5] if x}
    src = {x for x in r[5:9] if x}
    cond = (SP not in src and IP in src and SP not in dst and IP in dst and
            (FLAGS in src or any(x not in (SP, FLAGS, IP) for x in src)))
    kinds.add((r[1], cond, tuple(sorted(dst)), tuple(sorted(src))))
print(f"  ChampSim records of b.ne at {hex(pc)}: {seen}, {taken} taken, {d} interrupted; "
      f"is_branch/conditional/dst/src: {kinds}")
# The last (not taken) one may be among the interrupted.
assert seen == n and taken in (n - 1 - d, n - d), f"want {n} records, {n - 1 - d} taken"
assert all(k[0] == 1 and k[1] for k in kinds), "not a conditional branch to ChampSim"
PY
champsim_run "$T/a-cs_$k.champsimtrace.xz" 200000 1000000 "$T/cs.json"
python3 - "$T/cs.json" 1000000 <<'PY' || fail "ChampSim on the aarch64 trace"
import json, sys
c = json.load(open(sys.argv[1]))[0]["roi"]["cores"][0]
want = int(sys.argv[2])
assert abs(c["instructions"] - want) <= 10, f"simulated {c['instructions']}, asked {want}"
mis = sum(sum(v) if isinstance(v, list) else v for v in c["mispredict"].values())
print(f"  ChampSim: {c['instructions']} instructions, IPC {c['instructions'] / c['cycles']:.3f}, "
      f"branch MPKI {1000 * mis / c['instructions']:.3f}")
PY
echo "PASS aarch64_guest"
