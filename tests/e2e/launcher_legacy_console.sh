#!/usr/bin/env bash
# The legacy front end driven through a pseudo-terminal as a user types:
#   qemutrace-system-x86_64 -smp 2 ... -q_trace mode=binary,file=BASE --monitor stdio
# boots the built-in guest (a workload keeps both cores busy), then types
# qqq_start_trace, waits, qqq_status, qqq_end_trace, `info status`, `quit`.
# Checks: BASE_0 and BASE_1 exist and hold instructions, the monitor answered,
# the counts in the files match the manifest; then the same with mode=file
# (the legacy plain-text Tejas files).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$legacy" ] || { echo "FAIL: $legacy missing" >&2; exit 1; }
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }

# Workload: two busy shell loops (one per core) for up to 120 s.
cat >"$tmp/busy.sh" <<'EOS'
#!/bin/sh
busy() { i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done; }
busy & p1=$!
busy & p2=$!
sleep "${1:-120}"
kill $p1 $p2 2>/dev/null
EOS
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$tmp/busy.sh" 120 || { echo "FAIL: add-workload" >&2; exit 1; }
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"

cat >"$tmp/drive.py" <<'EOP'
# drive.py TRANSCRIPT CMD...: runs CMD on a pty and types like a user.
import os, pty, select, sys, time
transcript, cmd = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(cmd[0], cmd)
buf = b""
def expect(pat, timeout, quiet=False):
    global buf
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            buf += d
            if pat.encode() in buf:
                return True
    if not quiet:
        print("drive: timed out waiting for %r" % pat, file=sys.stderr)
    return False
def type_line(s):
    for ch in s + "\n":
        os.write(fd, ch.encode())
        time.sleep(0.01)
steps = [
    (None, "qemutrace-guest: ready", 120),
    ("qqq_start_trace", "tracing started", 20),
    ("SLEEP", None, 3),
    ("qqq_status", " instructions", 20),
    ("qqq_end_trace", "tracing stopped", 20),
    ("info status", "VM status: running", 20),
]
good = True
for line, pat, t in steps:
    if line == "SLEEP":
        time.sleep(t)
        continue
    if line:
        mark = len(buf)
        type_line(line)
    if not expect(pat, t):
        good = False
        break
type_line("quit")
expect("\x00never", 30, quiet=True)  # read until QEMU is gone
_, status = os.waitpid(pid, 0)
open(transcript, "wb").write(buf)
code = os.waitstatus_to_exitcode(status)
print("drive: exit %d" % code)
sys.exit(0 if good and code == 0 else 1)
EOP

qargs=(-smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img"
       -append "console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off" -nographic -no-reboot -nic none)

t0=$(date +%s.%N)
if python3 "$tmp/drive.py" "$tmp/console.txt" "$legacy" "${qargs[@]}" -q_trace mode=binary,file="$tmp/leg" --monitor stdio; then
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
if python3 "$tmp/drive.py" "$tmp/console2.txt" "$legacy" "${qargs[@]}" -q_trace mode=file,file="$tmp/txt" -ST 2000000 --monitor stdio; then
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
if python3 "$tmp/drive.py" "$tmp/console3.txt" "$qt" run --console --start console --program "$tmp/busy.sh" --args 120 \
     --trace "$tmp/rc"; then
  ok "run --console session (exit 0 after quit)"
else
  fail "run --console session failed"; tr -d '\r' <"$tmp/console3.txt" | tail -20 >&2
fi
grep -q "qemutrace summary" "$tmp/console3.txt" && ok "run --console printed the summary" || fail "run --console: no summary"
n=$("$qt" stats --json "$tmp/rc" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(min(c["instructions"] for c in d["cores"]))' 2>/dev/null)
[ "${n:-0}" -gt 1000 ] && ok "run --console: every core traced (min $n)" || fail "run --console: a core holds ${n:-0} instructions"

[ $fails -eq 0 ] && echo "PASS launcher_legacy_console" || { echo "$fails failure(s)" >&2; exit 1; }
