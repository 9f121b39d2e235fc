#!/usr/bin/env bash
# qemutrace run --program on the built-in guest (-smp 2):
#  - qt-loop N: the user-mode instructions traced equal the count the program
#    prints (expected_insns), in the binary format and via the summary;
#  - the run's exit code is the workload's exit status;
#  - a kernel panic is a failure, named on stderr.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# 1. Exact count from the marker test program.
t0=$(date +%s.%N)
"$qt" run --quiet --smp 2 --program qt-loop --args 1000000 --trace "$tmp/loop" >"$tmp/loop.out" 2>"$tmp/loop.err"
rc=$?
[ $rc -eq 0 ] && ok "run --program qt-loop: exit 0 ($(secs "$t0") s)" || { fail "run --program qt-loop exit $rc"; cat "$tmp/loop.err" >&2; }
want=$(sed -n 's/.*expected_insns=\([0-9]*\).*/\1/p' "$tmp/loop.out" | tr -d '\r' | head -n1)
[ -n "$want" ] || fail "qt-loop printed no expected_insns"
json=$("$qt" stats --json "$tmp"/loop_[0-9]* 2>"$tmp/stats.err") || fail "stats: $(cat "$tmp/stats.err")"
got=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["user_instructions"])' <<<"$json" 2>/dev/null)
[ -n "$want" ] && [ "$got" = "$want" ] && ok "user instructions traced = expected_insns = $want" ||
  fail "user instructions traced '$got' != expected_insns '$want'"
grep -q "manifest: $tmp/loop.json" "$tmp/loop.out" && ok "summary names the manifest" || fail "summary lacks the manifest path"
grep -q " $want " "$tmp/loop.out" && ok "summary shows the user count" ||
  fail "summary does not show $want"
grep -q "MIPS" "$tmp/loop.out" && ok "summary shows MIPS" || fail "summary lacks MIPS"
# The summary's split comes from the writer's counts in the manifest: they
# must equal what the reader counts in the files.
diffs=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1])); s = json.loads(sys.argv[2])
cores = {c["core"]: c for c in s["cores"]}
keys = ("instructions", "kernel_instructions", "loads", "stores")
bad = []
for f in m["files"]:
    c = f["core"]
    bad += ["core %d %s: manifest %s stats %s" % (c, k, f.get(k), cores[c][k])
            for k in keys if f.get(k) != cores[c][k]]
print("; ".join(bad) if bad else "none")' "$tmp/loop.json" "$json" 2>&1)
[ "$diffs" = none ] && ok "manifest counts (instructions, kernel, loads, stores) = stats" ||
  fail "manifest counts differ from stats: $diffs"
[ -e "$tmp/loop.ctl" ] && fail "loop.ctl left behind" || ok "control socket removed"

# 1b. The same on the i386 guest (qemu-system-i386, Debian's 686 kernel).
if "$qt" guest build --arch i386 >/dev/null 2>"$tmp/g386.err"; then
  "$qt" run --arch i386 --quiet --program qt-loop --args 100000 --trace "$tmp/l386" >"$tmp/l386.out" 2>"$tmp/l386.err"
  rc=$?
  want=$(sed -n 's/.*expected_insns=\([0-9]*\).*/\1/p' "$tmp/l386.out" | tr -d '\r' | head -n1)
  got=$("$qt" stats --json "$tmp"/l386_[0-9]* 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["user_instructions"])' 2>/dev/null)
  [ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ] && ok "i386: user instructions = expected_insns = $want" ||
    fail "i386: exit $rc, user instructions '$got', expected_insns '$want' ($(tail -n1 "$tmp/l386.err"))"
else
  fail "i386 guest build failed: $(tail -n1 "$tmp/g386.err")"
fi

# 2. The workload's exit status is the run's exit code.
printf '#!/bin/sh\necho "workload running with args: $*"\nexit 3\n' >"$tmp/exit3.sh"
"$qt" run --quiet --program "$tmp/exit3.sh" --args "a 'b c'" --trace "$tmp/e3" >"$tmp/e3.out" 2>"$tmp/e3.err"
rc=$?
[ $rc -eq 3 ] && ok "workload exit 3 -> run exit 3" || fail "workload exit 3 gave run exit $rc"
grep -q "workload running with args: a b c" "$tmp/e3.out" && ok "--args reach the program" || fail "--args did not reach the program"
grep -q "exited with status 3" "$tmp/e3.err" && ok "stderr names the workload status" || fail "stderr: $(cat "$tmp/e3.err")"

# 3. A kernel panic (no init) is a failure.
"$qt" run --quiet --trace "$tmp/panic" -- -append "console=ttyS0 panic=-1 rdinit=/nonexistent" >"$tmp/panic.out" 2>"$tmp/panic.err"
rc=$?
[ $rc -ne 0 ] && grep -q "kernel panic" "$tmp/panic.err" && ok "kernel panic -> exit $rc: $(tail -n1 "$tmp/panic.err")" ||
  fail "kernel panic gave exit $rc, stderr: $(cat "$tmp/panic.err")"

[ $fails -eq 0 ] && echo "PASS launcher_run_program" || { echo "$fails failure(s)" >&2; exit 1; }
