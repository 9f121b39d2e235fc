#!/usr/bin/env bash
# run --clock virtual: QEMU gets -icount shift=0,sleep=off and a guest-time
# RTC, the manifest names the clock, and guest time follows instructions: two
# runs of one workload give the same trace, even across timer interrupts.
#   -smp 1, binary: qt-loop, compared by stats and a `dump` checksum;
#   -smp 2, tejas text: qt-pinned (its loop on CPU 1), compared file by file;
#   legacy -q_trace mode=file,clock=virtual -ST M (-smp 2): the legacy text
#   files, compared file by file.
# N is large enough (4N > 4M instructions, one 250 Hz tick at 1 GIPS) that the
# loop's ROI must hold a timer interrupt: the run-to-run jitter this test
# guards against shows up as a shifted interrupt, never in a tick-free ROI.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
append=$(guest_append "$qt" x86_64) || { echo "FAIL: no kernel command line for the guest" >&2; exit 1; }
n=1500000

# two_runs NAME SMP FORMAT PROG: traces PROG twice into $tmp/NAME.1 and .2.
two_runs() {
  local name=$1 smp=$2 fmt=$3 prog=$4 r
  for r in 1 2; do
    "$qt" run --quiet --smp "$smp" --clock virtual --format "$fmt" --program "$prog" --args $n \
      --trace "$tmp/$name.$r" >"$tmp/$name.$r.out" 2>"$tmp/$name.$r.err" ||
      fail "$name run $r: $(tail -n1 "$tmp/$name.$r.err")"
  done
}
# core_stats BASE CORE: the binary trace's counts on CORE, one line.
core_stats() {
  "$qt" stats --json "$1" | python3 -c '
import json, sys
c = json.load(sys.stdin)["cores"][int(sys.argv[1])]
print(" ".join(f"{k}={c[k]}" for k in sorted(c) if "bytes" not in k))' "$2"
}
kernel_on() { core_stats "$1" "$2" | sed -n 's/.*kernel_instructions=\([0-9]*\).*/\1/p'; }

# -smp 1, binary.
two_runs loop 1 binary qt-loop
want=$(sed -n 's/.*expected_insns=\([0-9]*\).*/\1/p' "$tmp/loop.1.out" | tr -d '\r' | head -n1)
u=$("$qt" stats --json "$tmp/loop.1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["user_instructions"])')
[ -n "$want" ] && [ "$u" = "$want" ] && ok "user instructions = expected_insns = $want" || fail "user $u != expected '$want'"
k=$(kernel_on "$tmp/loop.1" 0)
[ "${k:-0}" -gt 0 ] && ok "-smp 1: the ROI holds a timer interrupt ($k kernel instructions)" ||
  fail "-smp 1: no kernel instructions in the ROI, so it checks nothing past a tick"
s1=$(core_stats "$tmp/loop.1" 0); s2=$(core_stats "$tmp/loop.2" 0)
[ "$s1" = "$s2" ] && ok "-smp 1: equal counts ($s1)" || fail "-smp 1 counts differ: $s1 | $s2"
d1=$("$qt" dump "$tmp/loop.1" | md5sum | cut -d' ' -f1); d2=$("$qt" dump "$tmp/loop.2" | md5sum | cut -d' ' -f1)
[ "$d1" = "$d2" ] && ok "-smp 1: identical dumps ($d1)" || fail "-smp 1: two virtual-clock runs differ: $d1 vs $d2"

# -smp 2, tejas text.
two_runs pinned 2 tejas qt-pinned
for c in 0 1; do
  [ -s "$tmp/pinned.1_$c" ] || { fail "-smp 2: no text trace pinned.1_$c"; continue; }
  h1=$(md5sum <"$tmp/pinned.1_$c" | cut -d' ' -f1); h2=$(md5sum <"$tmp/pinned.2_$c" 2>/dev/null | cut -d' ' -f1)
  [ "$h1" = "$h2" ] && ok "-smp 2 tejas core $c: identical files ($h1)" || fail "-smp 2 tejas core $c differs: $h1 vs $h2"
done
# The loop ran on CPU 1; a tick there means the interrupt's position is
# compared. Tejas text writes the kernel's upper-half PCs as negative numbers.
kl=$(awk '$1 ~ /^-[0-9]/ {n++} END {print n+0}' "$tmp/pinned.1_1")
[ "$kl" -gt 0 ] && ok "-smp 2: kernel code on CPU 1 inside the ROI ($kl lines)" ||
  fail "-smp 2: no kernel code on CPU 1, so the comparison checks nothing past a tick"

# The legacy front end: qt-loop's marker starts tracing, -ST stops it.
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$guest/programs/qt-loop" $n || fail "add-workload"
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"
M=5000000
for r in 1 2; do
  timeout 600 "$legacy" -smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img" \
    -append "$append" -nographic -no-reboot -nic none \
    -q_trace mode=file,file="$tmp/leg.$r",clock=virtual -ST $M </dev/null >"$tmp/leg.$r.out" 2>"$tmp/leg.$r.err" ||
    fail "legacy clock=virtual run $r: $(tail -n1 "$tmp/leg.$r.err")"
done
kl=$(cat "$tmp"/leg.1_[0-9] 2>/dev/null | awk '$1 ~ /^-[0-9]/' | wc -l)
[ "$kl" -gt 0 ] && ok "legacy: kernel code in the traced $M instructions ($kl lines)" ||
  fail "legacy: no kernel code in $M instructions, so the comparison checks no interrupt"
for c in 0 1; do
  h1=$(md5sum <"$tmp/leg.1_$c" 2>/dev/null | cut -d' ' -f1); h2=$(md5sum <"$tmp/leg.2_$c" 2>/dev/null | cut -d' ' -f1)
  [ -n "$h1" ] && [ "$h1" = "$h2" ] && ok "legacy clock=virtual core $c: identical files ($h1)" ||
    fail "legacy clock=virtual core $c differs: '$h1' vs '$h2'"
done

read -r kind icount cmd rtc < <(python3 -c '
import json, sys; m = json.load(open(sys.argv[1])); c = m["clock"]; cl = m["command_line"]
i = cl.index("-icount") if "-icount" in cl else -1
r = cl.index("-rtc") if "-rtc" in cl else -1
print(c["kind"], c.get("icount", "-"), cl[i + 1] if i >= 0 else "-", cl[r + 1] if r >= 0 else "-")' "$tmp/loop.1.json")
[ "$kind $icount $cmd" = "virtual shift=0,sleep=off shift=0,sleep=off" ] && ok "manifest: clock virtual, -icount $cmd" ||
  fail "manifest clock: '$kind $icount', QEMU -icount '$cmd'"
[ "$rtc" = "base=2020-01-01T00:00:00,clock=vm" ] && ok "QEMU -rtc $rtc" || fail "QEMU -rtc '$rtc'"

"$qt" run --quiet --smp 1 --program qt-loop --args 1000 --trace "$tmp/h" >/dev/null 2>"$tmp/h.err" || fail "host run: $(tail -n1 "$tmp/h.err")"
kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clock"]["kind"])' "$tmp/h.json")
[ "$kind" = host ] && ok "default clock in the manifest: host" || fail "default clock '$kind'"

[ $fails -eq 0 ] && echo "PASS launcher_clock" || { echo "$fails failure(s)" >&2; exit 1; }
