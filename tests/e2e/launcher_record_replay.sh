#!/usr/bin/env bash
# Record once, trace many times. A static program that uses the kernel (N raw
# getppid syscalls and M 1 ms nanosleeps, which idle the core until a timer
# fires) is recorded with `qemutrace record`, then replayed three times:
#  - two binary replays give the same trace: equal `dump` checksums;
#  - the user-mode `syscall` instructions in the trace are exactly N+M;
#  - a tejas replay equals the conversion of a binary replay, byte for byte;
#  - the replay's manifest names the virtual clock under replay.
# Record/replay runs one core (-smp 1).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
N=300; M=5

cat >"$tmp/nap.c" <<'C'
#include "programs/qt-common.h"
#include <sys/syscall.h>
static long raw_syscall2(long nr, long a, long b) {
  long r;
  __asm__ __volatile__("syscall" : "=a"(r) : "0"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return r;
}
int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 100, "nap", "N"), m = qt_arg(argc, argv, 2, 5, "nap", "M");
  struct timespec ms = {0, 1000000};
  long ppid = 0, slept = 0;
  qemutrace_start(1);
  for (unsigned long i = 0; i < n; i++) {
    ppid = raw_syscall2(SYS_getppid, 0, 0);
    if (i % (n / m) == 0 && slept < (long)m) slept += raw_syscall2(SYS_nanosleep, (long)&ms, 0) == 0;
  }
  qemutrace_stop(1);
  printf("nap: n=%lu m=%lu slept=%ld ppid=%ld syscalls=%lu\n", n, m, slept, ppid, n + m);
  return slept == (long)m ? 0 : 1;
}
C
gcc -O2 -static -I"$src/guest" -o "$tmp/nap" "$tmp/nap.c" || { echo "FAIL: cannot build nap" >&2; exit 1; }

"$qt" record --quiet --program "$tmp/nap" --args "$N $M" --out "$tmp/rec" >"$tmp/rec.out" 2>"$tmp/rec.err" ||
  { fail "record: $(tail -n2 "$tmp/rec.err")"; exit 1; }
grep -q "nap: n=$N m=$M slept=$M" "$tmp/rec.out" && ok "recorded: $(grep -a 'nap:' "$tmp/rec.out" | tr -d '\r')" ||
  fail "the recorded guest did not run nap: $(tail -n3 "$tmp/rec.out")"
[ -s "$tmp/rec/replay.bin" ] && ok "record wrote its event log" || fail "no $tmp/rec/replay.bin"

replay() { # BASE FORMAT
  "$qt" replay "$tmp/rec" --quiet --trace "$tmp/$1" --format "$2" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
    fail "replay $1 ($2): $(tail -n2 "$tmp/$1.err")"
  grep -q "nap: n=$N m=$M slept=$M" "$tmp/$1.out" || fail "replay $1: the guest did not run nap again"
}
replay r1 binary
replay r2 binary
replay r3 tejas

d1=$("$qt" dump "$tmp/r1" | md5sum | cut -d' ' -f1)
d2=$("$qt" dump "$tmp/r2" | md5sum | cut -d' ' -f1)
lines=$("$qt" dump "$tmp/r1" | wc -l)
[ "$lines" -gt 10000 ] || fail "replay traced too little to mean anything: $lines dump lines"
[ "$d1" = "$d2" ] && ok "two replays: identical dumps ($lines lines, md5 $d1)" || fail "two replays differ: $d1 vs $d2"
calls=$("$qt" dump "$tmp/r1" | awk '$1 ~ /^[0-9]+$/ && $4 == "U" && $5 == "0f05"' | wc -l)
[ "$calls" = $((N + M)) ] && ok "user syscall instructions in the trace = N+M = $calls" ||
  fail "user syscall instructions: $calls, the program made $((N + M))"
k=$("$qt" stats --json "$tmp/r1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["kernel_instructions"])')
[ "$k" -gt 1000 ] && ok "kernel instructions traced: $k" || fail "only $k kernel instructions"

"$qt" convert --to tejas "$tmp/r1" -o "$tmp/conv" >/dev/null || fail "convert r1 to tejas"
if cmp -s "$tmp/conv_0" "$tmp/r3_0"; then ok "tejas replay == conversion of a binary replay ($(wc -l <"$tmp/r3_0") lines)"
else fail "tejas replay differs from converted binary replay: $(cmp "$tmp/conv_0" "$tmp/r3_0" 2>&1 | head -n1)"; fi

clock=$(python3 -c 'import json,sys; c = json.load(open(sys.argv[1]))["clock"]; print(c["kind"], c.get("icount", ""))' "$tmp/r1.json")
[[ $clock == "virtual "*"rr=replay"* ]] && ok "manifest clock: $clock" || fail "manifest clock '$clock'"

[ $fails -eq 0 ] && echo "PASS launcher_record_replay" || { echo "$fails failure(s)" >&2; exit 1; }
