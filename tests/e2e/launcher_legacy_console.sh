#!/usr/bin/env bash
# The legacy front end driven through a pseudo-terminal as a user types:
#   qemutrace-system-x86_64 -smp 2 ... -q_trace mode=binary,file=BASE --monitor stdio
# boots the built-in guest (a workload keeps both cores busy), then types
# qqq_start_trace, qqq_status until every core has traced, qqq_end_trace,
# `info status`, `quit` (each step waits for the previous answer).
# Checks: BASE_0 and BASE_1 exist and hold instructions, the monitor answered,
# the counts in the files match the manifest; then the same with mode=file
# (the legacy plain-text Tejas files).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$legacy" ] || { echo "FAIL: $legacy missing" >&2; exit 1; }
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
append=$(guest_append "$qt" x86_64) || { echo "FAIL: no kernel command line for the guest" >&2; exit 1; }

# Workload: two busy shell loops (one per core) until the test types quit.
cat >"$tmp/busy.sh" <<'EOS'
#!/bin/sh
busy() { while :; do :; done; }
busy &
busy &
while :; do sleep 3600; done
EOS
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$tmp/busy.sh" || { echo "FAIL: add-workload" >&2; exit 1; }
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"

cat >"$tmp/drive.py" <<'EOP'
# drive.py TRANSCRIPT UNTIL DEADLINE CMD...: runs CMD on a pty and types like
# a user: waits for the guest, qqq_start_trace, then qqq_status until UNTIL
# holds (cores: every core has traced over 1000 instructions; limit: the
# limit is reached), qqq_end_trace, `info status`, `quit`. Each wait is for
# an answer on the console, DEADLINE seconds at most.
import os, pty, re, select, sys, time
transcript, until, deadline, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cmd[0], cmd)
buf = b""
def expect(pat, since=0, timeout=deadline, quiet=False):
    """Waits for the regex pat in the output after offset since; the match."""
    global buf
    end = time.time() + timeout
    while True:
        m = re.compile(pat.encode()).search(buf, since)
        if m:
            return m
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.2))
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            buf += d
    if not quiet:
        print("drive: gave up after %.0f s waiting for %r" % (timeout, pat), file=sys.stderr)
    return None
def type_line(s):
    mark = len(buf)
    for ch in s + "\n":
        os.write(fd, ch.encode())
        time.sleep(0.01)  # typing, not waiting for anything
    return mark
def status_holds():
    """Asks qqq_status (again and again) until UNTIL holds."""
    end = time.time() + deadline
    while time.time() < end:
        m = expect(r"(off|tracing|limit reached): (\d+) instructions \(([^)]*)\)", type_line("qqq_status"))
        if not m:
            return False
        state = m.group(1).decode()
        cores = [int(n) for n in re.findall(rb"core \d+ (\d+)", m.group(3))]
        if until == "limit" and state == "limit reached":
            return True
        if until == "cores" and len(cores) >= 2 and min(cores) > 1000:
            return True
        time.sleep(0.5)  # between two questions; the answer decides
    print("drive: gave up after %.0f s asking qqq_status until %s" % (deadline, until), file=sys.stderr)
    return False
good = (expect("qemutrace-guest: ready") is not None
        and expect("tracing started", type_line("qqq_start_trace")) is not None
        and status_holds()
        # after the limit, the stop is refused: the limit already stopped it
        and expect("limit reached" if until == "limit" else "tracing stopped", type_line("qqq_end_trace")) is not None
        and expect("VM status: running", type_line("info status")) is not None)
type_line("quit")
expect("\x00never", quiet=True)  # read until QEMU is gone
_, status = os.waitpid(pid, 0)
open(transcript, "wb").write(buf)
code = os.waitstatus_to_exitcode(status)
print("drive: exit %d" % code)
sys.exit(0 if good and code == 0 else 1)
EOP

qargs=(-smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img"
       -append "$append" -nographic -no-reboot -nic none)

t0=$(date +%s.%N)
if python3 "$tmp/drive.py" "$tmp/console.txt" cores "$QT_DEADLINE" "$legacy" "${qargs[@]}" -q_trace mode=binary,file="$tmp/leg" --monitor stdio; then
  ok "console session: qqq_start_trace, qqq_status, qqq_end_trace, info status, quit ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s)"
else
  fail "console session failed; transcript:"; tr -d '\r' <"$tmp/console.txt" | tail -30 >&2
fi
grep -q "VM status: running" "$tmp/console.txt" && ok "info status answered" || fail "no 'VM status: running' from info status"
grep -q "(qemu) " "$tmp/console.txt" && ok "prompt (qemu) shown" || fail "no (qemu) prompt"
for k in 0 1; do
  [ -s "$tmp/leg_$k" ] && ok "leg_$k exists" || fail "leg_$k missing or empty"
done
if json=$("$qt" stats --json "$tmp/leg_0" "$tmp/leg_1" 2>"$tmp/stats.err"); then
  read -r c0 c1 <<<"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(*[c["instructions"] for c in d["cores"]])' <<<"$json")"
  [ "${c0:-0}" -gt 1000 ] && ok "core 0 traced $c0 instructions" || fail "core 0 holds ${c0:-0} instructions"
  [ "${c1:-0}" -gt 1000 ] && ok "core 1 traced $c1 instructions" || fail "core 1 holds ${c1:-0} instructions"
  m=$(python3 -c 'import json; print(json.load(open("'"$tmp/leg.json"'"))["totals"]["instructions"])' 2>/dev/null)
  [ "$m" = "$((c0 + c1))" ] && ok "manifest total $m matches the files" || fail "manifest total '$m' != $((c0 + c1))"
else
  fail "stats failed: $(cat "$tmp/stats.err")"
fi
[ -e "$tmp/leg.ctl" ] && fail "control socket leg.ctl left behind" || ok "control socket removed"

# mode=file: the legacy plain-text per-core files (Tejas), driven the same
# way, with -ST bounding the size: exactly 2000000 instruction lines in all.
if python3 "$tmp/drive.py" "$tmp/console2.txt" limit "$QT_DEADLINE" "$legacy" "${qargs[@]}" -q_trace mode=file,file="$tmp/txt" -ST 2000000 --monitor stdio; then
  ok "mode=file console session"
else
  fail "mode=file console session failed"; tr -d '\r' <"$tmp/console2.txt" | tail -20 >&2
fi
total=0
for k in 0 1; do
  # One "ip 27 disassembly" line (or "ip 1 ...") per instruction.
  n=$(awk '$2 == 27 || $2 == 1' "$tmp/txt_$k" 2>/dev/null | wc -l)
  [ "${n:-0}" -gt 100 ] && ok "txt_$k holds $n Tejas instruction lines" || fail "txt_$k holds ${n:-0} Tejas instruction lines"
  total=$((total + ${n:-0}))
done
[ $total -eq 2000000 ] && ok "-ST 2000000: $total instruction lines in total" || fail "-ST 2000000 gave $total instruction lines"

# qemutrace run --console: the same console on the modern front end, with
# tracing waiting for the console (--start console).
if python3 "$tmp/drive.py" "$tmp/console3.txt" cores "$QT_DEADLINE" "$qt" run --console --start console --program "$tmp/busy.sh" \
     --trace "$tmp/rc"; then
  ok "run --console session (exit 0 after quit)"
else
  fail "run --console session failed"; tr -d '\r' <"$tmp/console3.txt" | tail -20 >&2
fi
grep -q "qemutrace summary" "$tmp/console3.txt" && ok "run --console printed the summary" || fail "run --console: no summary"
n=$("$qt" stats --json "$tmp/rc" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(min(c["instructions"] for c in d["cores"]))' 2>/dev/null)
[ "${n:-0}" -gt 1000 ] && ok "run --console: every core traced (min $n)" || fail "run --console: a core holds ${n:-0} instructions"

[ $fails -eq 0 ] && echo "PASS launcher_legacy_console" || { echo "$fails failure(s)" >&2; exit 1; }
