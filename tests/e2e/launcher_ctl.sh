#!/usr/bin/env bash
# qemutrace ctl from a second process: a run started with --start console
# (nothing traced until told) is started, queried and stopped by
# `qemutrace ctl BASE ...` / `qemutrace ctl BASE.ctl ...`; nothing is traced
# after stop; the manifest and files hold what status reported.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

# The workload keeps both cores busy until the test is done with it, and
# waits on its second serial port (/dev/ttyS1) for the test's lines: no step
# depends on how fast the host is.
cat >"$tmp/busy.sh" <<'EOS'
#!/bin/sh
exec 3</dev/ttyS1
busy() { while :; do :; done; }
busy & p1=$!
busy & p2=$!
echo busy-started
read -r _ <&3   # the test started, queried and stopped tracing
i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done
echo busy-after-stop
read -r _ <&3   # the test checked that nothing was traced meanwhile
kill $p1 $p2 2>/dev/null
echo busy-done
EOS
B=$tmp/c
# QEMU's console stays on stdout (the launcher's output) and a second serial
# port carries the test's lines to the guest.
# shellcheck disable=SC2046
"$qt" run --quiet --start console --program "$tmp/busy.sh" --trace "$B" \
  -- -monitor none -serial stdio $(host_serial_args "$tmp/host") >"$tmp/run.out" 2>"$tmp/run.err" &
runpid=$!
stop_early() { cat "$tmp/run.err" >&2; tr -d '\r' <"$tmp/run.out" | tail -20 >&2; exit 1; }
wait_for "the control socket $B.ctl" $runpid test -S "$B.ctl" || stop_early
ok "control socket $B.ctl appeared"
[ "$(stat -c %a "$B.ctl")" = 600 ] && ok "socket mode 0600" || fail "socket mode $(stat -c %a "$B.ctl")"
wait_for "the guest's 'busy-started'" $runpid console_has "$tmp/run.out" busy-started || stop_early

s=$("$qt" ctl "$B" status) || fail "ctl status failed"
[ "$(field "$s" state)" = off ] && ok "before start: $s" || fail "before start, status '$s'"
r=$("$qt" ctl "$B" start) && [ "$r" = "ok tracing" ] && ok "ctl start -> $r" || fail "ctl start -> '$r'"
# The reply comes once tracing is on; the first instructions follow.
counting() {
  s=$("$qt" ctl "$B.ctl" status) && [ "$(field "$s" state)" = tracing ] && [ "$(field "$s" instructions)" -gt 0 ]
}
wait_for "a status (socket path) saying tracing, instructions > 0" $runpid counting &&
  ok "while tracing: $(field "$s" instructions) instructions" || fail "while tracing, status '$s'"
h=$("$qt" ctl "$B" status --human) && [[ $h == tracing:* ]] && ok "status --human: $h" || fail "status --human: '$h'"
r=$("$qt" ctl "$B" stop) && [ "$r" = "ok off" ] && ok "ctl stop -> $r" || fail "ctl stop -> '$r'"
s1=$("$qt" ctl "$B" status)
n1=$(field "$s1" instructions)
# The guest's cores stay busy, and it runs a loop of its own and says so:
# none of that may be traced.
send_line "$tmp/host" go
wait_for "the guest's 'busy-after-stop'" $runpid console_has "$tmp/run.out" busy-after-stop || stop_early
s2=$("$qt" ctl "$B" status)
n2=$(field "$s2" instructions)
[ "$(field "$s2" state)" = off ] && [ "$n1" = "$n2" ] && ok "after stop: state off, count stays $n1" || fail "after stop: '$s1' then '$s2'"
out=$("$qt" ctl "$B" bogus 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && ok "bad ctl command: $out" || fail "bad ctl command: rc $rc, '$out'"

send_line "$tmp/host" end
wait_gone $runpid "the run (after the guest's last line)"
wait $runpid; rc=$?; runpid=
[ $rc -eq 0 ] && ok "run exit 0" || { fail "run exit $rc"; cat "$tmp/run.err" >&2; }
m=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["instructions"])' "$B.json" 2>/dev/null)
t=$("$qt" stats --json "$B"_[0-9]* | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])')
[ "$m" = "$t" ] && ok "manifest total = files = $t" || fail "manifest total '$m' != files '$t'"
# The live status may lag the files by the block each core was in when
# tracing stopped (completed at the end of the run); allow that, report it.
d=$(( ${t:-0} - ${n1:-0} ))
if [ "$d" -eq 0 ]; then ok "files hold exactly the $n1 instructions of the last status"
elif [ "$d" -gt 0 ] && [ "$d" -le 64 ]; then ok "files hold $t instructions, $d more than the last status (pending blocks)"
else fail "files hold '$t' instructions, the last status said '$n1'"; fi
out=$("$qt" ctl "$B" status 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && ok "ctl after the run: $out" || fail "ctl after the run: rc $rc, '$out'"

[ $fails -eq 0 ] && echo "PASS launcher_ctl" || { echo "$fails failure(s)" >&2; exit 1; }
