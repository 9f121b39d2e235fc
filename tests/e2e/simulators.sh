#!/usr/bin/env bash
# Our traces run in the real simulators, built from ../shared/consumers:
#  - a loop (qt-loop), a streaming triad (qt-bench-stream, 2M instructions)
#    and a branch interrupted on purpose (programs/qt-faulting-branch.c: a
#    never-taken jz whose fall-through load page-faults) are traced;
#  - Tejas reads each tejas-gz trace to its end-of-stream packet and counts
#    every instruction but the last of each core (documented); its own
#    translator (run by tejas/TejasTranslate.java) translates every text
#    whose mnemonic and registers it knows; the interrupted jz is not taken;
#  - ChampSim simulates (nearly) the whole core trace: the loop's branch MPKI
#    is below 1, the stream's LLC MPKI is well above the loop's, and every
#    record of the interrupted jz has branch_taken 0; the loop's champsim-gz
#    file gives ChampSim the same statistics as its .xz file.
source "$(dirname "$0")/sim_lib.sh"

t0=$(date +%s)
tejas_ready
champsim_ready
note "simulators ready after $(( $(date +%s) - t0 )) s"

# trace NAME PROGRAM_FILE ARGS...: boots it with the binary format; BASE=$T/NAME.
trace() {
  local name=$1 file=$2
  shift 2
  local g
  g=$(guest_dir x86_64)
  "$QEMUTRACE_SRC/guest/add-workload.sh" "$T/$name.cpio" "$file" "$@"
  cat "$g/initrd.img" "$T/$name.cpio" >"$T/$name.initrd"
  boot x86_64 "$T/$name.initrd" "$T/$name.log" "base=$T/$name${TRACE_OPTS:+,$TRACE_OPTS}" || fail "qemu exit $? ($name)"
  guest_ok "$T/$name.log"
  "$QT" convert --to tejas-gz "$T/$name" -o "$T/$name-tj" >/dev/null
  "$QT" convert --to champsim "$T/$name" -o "$T/$name-cs" >/dev/null
  "$QT" convert --to champsim-gz "$T/$name" -o "$T/$name-cs" >/dev/null
}

# main_core NAME LO HI: the core whose trace holds the program's code.
main_core() {
  local best=0 bestn=-1 f k n
  for f in "$T/$1"_[0-9]*; do
    case $f in *[!0-9]) continue ;; esac
    k=${f##*_}
    n=$(count_range "$f" "$2" "$3" U)
    [ "$n" -gt "$bestn" ] && { best=$k; bestn=$n; }
  done
  echo "$best"
}
core_insns() { "$QT" stats --json "$T/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cores"][int(sys.argv[1])]["instructions"])' "$2"; }

G=$(guest_dir x86_64)
gcc -static -O2 -Wall -Werror -I"$QEMUTRACE_SRC/guest" "$(dirname "$0")/programs/qt-faulting-branch.c" -o "$T/qt-faulting-branch" ||
  fail "cannot build qt-faulting-branch"

trace loop "$G/programs/qt-loop" 1000000
TRACE_OPTS=limit=2000000 trace stream "$G/programs/qt-bench-stream" 1
trace fault "$T/qt-faulting-branch" 64
branch_pc=$(field "$T/fault.log" qt-faulting-branch branch_pc)
[ -n "$branch_pc" ] || fail "qt-faulting-branch printed no branch_pc"

# ---- Tejas --------------------------------------------------------------
for name in fault stream; do
  cores=$(ls "$T/$name-tj"_*.gz | wc -l)
  # First, as it fails fast: text Tejas' tokenizer or translator rejects.
  tejas_translate "$T/$name-tj"_*.gz >"$T/$name-translate.sum"
  note "Tejas' translator on $name: $(cat "$T/$name-translate.sum")"
  tejas_config "$cores" "$T/$name-tejas.xml"
  tejas_run "$T/$name-tejas.xml" "$T/$name-tejas.stat" "$T/$name-tj"
  total=$(total_insns "$T/$name")
  pin=$(tejas_stat "$T/$name-tejas.stat" "Number of PIN CISC instructions")
  handled=$(tejas_stat "$T/$name-tejas.stat" "Number of handled CISC instructions")
  ipc=$(grep -a -m1 "in terms of CISC" "$T/$name-tejas.stat" | sed -E 's/.*=[[:space:]]*([0-9.]+).*/\1/')
  note "Tejas $name: trace $total instructions on $cores cores, Tejas read $pin, handled $handled, IPC $ipc"
  # Tejas hands an instruction to its translator when the next one arrives:
  # the last of each core is read but never translated.
  [ "$pin" = $((total - cores)) ] || fail "Tejas read $pin instructions of $name, expected $((total - cores))"
  for f in "$T/$name-tj"_*.gz; do
    k=${f%.gz}; k=${k##*_}
    n=$(core_insns "$name" "$k")
    grep -aq "application-thread $k numCISC=$n\$" "$T/$name-tejas.stat.log" ||
      fail "Tejas did not see core $k's end-of-stream packet with $n instructions"
  done
done
bpc=$(printf '%d' "$branch_pc")
# (the process may move between cores: look at all of them)
# The program's rep movsb and rep stosq, in objdump's form.
for want in 'rep movs BYTE PTR es:[rdi], BYTE PTR ds:[rsi]' 'rep stos QWORD PTR es:[rdi], rax'; do
  n=$(zcat "$T"/fault-tj_*.gz | grep -cF " 27 $want" || true)
  [ "$n" -ge 1 ] || fail "no '$want' line in the Tejas files"
done
nt=$(zcat "$T"/fault-tj_*.gz | grep -c "^$bpc 5 " || true)
tk=$(zcat "$T"/fault-tj_*.gz | grep -c "^$bpc 4 " || true)
note "Tejas: interrupted jz at $branch_pc: $nt not taken, $tk taken"
[ "$nt" = 64 ] && [ "$tk" = 0 ] || fail "Tejas lines of the interrupted jz: $nt not taken, $tk taken (want 64, 0)"

# ---- ChampSim -----------------------------------------------------------
# champsim_check NAME CORE [SUFFIX]: warms up on the first tenth of the
# core's records (the kernel code that interrupts the workload runs cold
# there first) and simulates all but 100 of the rest of its
# .champsimtrace.xz (or SUFFIX) file; prints "IPC branch-MPKI LLC-MPKI".
champsim_check() {
  local name=$1 k=$2 suffix=${3:-.champsimtrace.xz} n w
  n=$(core_insns "$name" "$k")
  w=$((n / 10))
  champsim_run "$T/$name-cs_$k$suffix" "$w" $((n - w - 100)) "$T/$name-champsim$suffix.json"
  python3 - "$T/$name-champsim$suffix.json" $((n - w - 100)) <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))[0]["roi"]
want = int(sys.argv[2])
c = j["cores"][0]
insns, cycles = c["instructions"], c["cycles"]
assert abs(insns - want) <= 10, f"ChampSim simulated {insns} instructions, asked {want}"
mis = sum(sum(v) if isinstance(v, list) else v for v in c["mispredict"].values())
llc = j["LLC"]
miss = sum(sum(llc[t]["miss"]) for t in ("LOAD", "RFO") if t in llc)
print(f"{insns / cycles:.3f} {1000 * mis / insns:.3f} {1000 * miss / insns:.3f}")
PY
}
lk=$(main_core loop "$(field "$T/loop.log" qt-loop roi_pc_begin)" "$(field "$T/loop.log" qt-loop roi_pc_end)")
read -r l_ipc l_bmpki l_llc < <(champsim_check loop "$lk")
sk=$(main_core stream 0 0x800000)
read -r s_ipc s_bmpki s_llc < <(champsim_check stream "$sk")
note "ChampSim loop (core $lk): IPC $l_ipc, branch MPKI $l_bmpki, LLC MPKI $l_llc"
note "ChampSim stream (core $sk): IPC $s_ipc, branch MPKI $s_bmpki, LLC MPKI $s_llc"
python3 -c "import sys; sys.exit(0 if float('$l_bmpki') < 1 else 1)" || fail "loop branch MPKI $l_bmpki >= 1"
loop_gz=$(champsim_check loop "$lk" .champsimtrace.gz)
[ "$loop_gz" = "$l_ipc $l_bmpki $l_llc" ] || fail "ChampSim on the loop's champsim-gz file: $loop_gz, on its .xz file: $l_ipc $l_bmpki $l_llc"
python3 -c "import sys; l, s = float('$l_llc'), float('$s_llc'); sys.exit(0 if s > 5 and s > 10 * l else 1)" ||
  fail "stream LLC MPKI $s_llc not well above the loop's $l_llc"
cat "$T"/fault-cs_*.champsimtrace.xz | xz -dc | python3 -c '
import struct, sys
pc = int(sys.argv[1], 16)
data = sys.stdin.buffer.read()
recs = [data[i:i + 64] for i in range(0, len(data), 64)]
hits = [r for r in recs if struct.unpack_from("<Q", r, 0)[0] == pc]
taken = sum(r[9] for r in hits)
print(f"  ChampSim: interrupted jz: {len(hits)} records, {taken} taken")
sys.exit(0 if len(hits) == 64 and taken == 0 and all(r[8] for r in hits) else 1)' "$branch_pc" ||
  fail "ChampSim records of the interrupted jz are not all branches written not taken"
echo "PASS simulators ($(( $(date +%s) - t0 )) s)"
