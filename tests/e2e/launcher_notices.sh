#!/usr/bin/env bash
# The launcher's notices say what happened, with the numbers the files hold:
#  - a guest `int $100` that starts tracing prints "tracing started", as the
#    console's qqq_start_trace does;
#  - "instruction limit reached after N instructions" states the count the
#    files hold (N = --limit), once, also when the live status sees the limit
#    first.
# Waits on the notice itself (deadline 240 s), then ends the run with SIGTERM.
source "$(dirname "$0")/launcher_lib.sh"
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
total_of() { "$qt" stats --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])'; }

# wait_for FILE PATTERN PID: until FILE has PATTERN, PID is gone, or the deadline.
wait_for() {
  local end=$((SECONDS + 240))
  while [ $SECONDS -lt $end ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { grep -q "$2" "$1" 2>/dev/null; return; }
    sleep 0.2
  done
  return 1
}

# 1. int $100 (qt-legacy runs its loop between int $100 and int $101).
timeout 300 "$qt" run --program qt-legacy --args 1000 --trace "$tmp/leg" </dev/null >"$tmp/leg.out" 2>"$tmp/leg.err"
rc=$?
[ $rc -eq 0 ] && ok "qt-legacy run exit 0" || fail "qt-legacy run exit $rc: $(tail -n3 "$tmp/leg.err")"
line=$(grep 'tracing started' "$tmp/leg.err")
[[ $line == "qemutrace: tracing started by int \$100 on core "[0-9]* ]] && ok "notice: $line" ||
  fail "no 'tracing started by int \$100' notice on stderr: $(cat "$tmp/leg.err")"

# 2. The limit, seen by the live status poll: the workload runs on (untraced)
# long after the limit, so the poll, not the end of the run, reports it.
N=3000000
"$qt" run --smp 2 --program qt-loop --args 4000000000 --limit $N --trace "$tmp/lim" \
  </dev/null >"$tmp/lim.out" 2>"$tmp/lim.err" &
runpid=$!
if wait_for "$tmp/lim.err" "instruction limit reached after" $runpid; then
  kill -TERM $runpid 2>/dev/null
else
  fail "no limit notice within the deadline"; kill -TERM $runpid 2>/dev/null
fi
wait $runpid; runpid=
notice=$(grep "instruction limit reached after" "$tmp/lim.err")
got=$(total_of "$tmp/lim")
[ "$got" = "$N" ] && ok "the files hold $got instructions" || fail "the files hold '$got' instructions, want $N"
[ "$(grep -c "limit.*reached" "$tmp/lim.err")" = 1 ] && [[ $notice == *" after $got instructions"* ]] &&
  ok "notice states the files' count: $notice" || fail "notice '$notice' does not state the $got instructions in the files"

[ $fails -eq 0 ] && echo "PASS launcher_notices" || { echo "$fails failure(s)" >&2; exit 1; }
