#!/usr/bin/env bash
# qemutrace demo with the guest cached: exits 0 (how long it took is
# reported, not judged: that is a benchmark's job, and a loaded host is
# slow), prints the summary (per-core instructions, kernel/user split, bytes,
# B/insn, MIPS, manifest) and the next commands; its trace passes verify.
# Without a terminal it draws no status line. On a pseudo-terminal, a run
# whose ROI spans several status polls (qt-demo at scale 6, about 3 s here)
# draws the live status line with a nonzero MIPS figure. The demo's own ROI
# (about 0.6 s) can fall between two polls, so it is not used for that.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }

cd "$tmp"
t0=$(date +%s.%N)
timeout "$QT_DEADLINE" "$qt" demo >"$tmp/demo.out" 2>"$tmp/demo.err"
rc=$?
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[ $rc -eq 0 ] && ok "demo exit 0 in $el s" || { fail "demo exit $rc"; tail -5 "$tmp/demo.err" >&2; }
for want in "qemutrace summary" "kernel" "user" "B/insn" "MIPS" "manifest: $tmp/qemutrace-demo/demo.json" \
            "dump qemutrace-demo/demo_0" "stats qemutrace-demo/demo_0 qemutrace-demo/demo_1"; do
  grep -qF "$want" "$tmp/demo.out" && ok "output has '$want'" || fail "output lacks '$want'"
done
grep -Eq '^  1 +[1-9][0-9]{6,}' "$tmp/demo.out" && ok "core 1 traced millions of instructions" || fail "core 1 row missing or small"
grep -q $'\r' "$tmp/demo.err" && fail "status line drawn although stderr is not a terminal" || ok "no status line on a non-terminal"
"$qt" verify qemutrace-demo/demo_0 qemutrace-demo/demo_1 >"$tmp/verify.out" 2>&1 && ok "verify passes" ||
  fail "verify: $(tail -3 "$tmp/verify.out")"

# The live status line, on a terminal.
python3 - "$qt" "$tmp/pty.out" <<'EOP' && ok "status line on a terminal: $(tr '\r' '\n' <"$tmp/pty.out" | grep -a -m1 '\[qemutrace tracing\].* [1-9][0-9.]* MIPS')" || fail "no live status line with a MIPS figure on a terminal"
import os, pty, re, sys
qt, out = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(qt, [qt, "run", "--smp", "2", "--program", "qt-demo", "--args", "6", "--trace", "pty/demo"])
buf = b""
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    buf += d
_, st = os.waitpid(pid, 0)
open(out, "wb").write(buf)
drawn = re.search(rb"\[qemutrace tracing\][^\r\n]* [1-9][0-9.]* MIPS", buf)
sys.exit(0 if os.waitstatus_to_exitcode(st) == 0 and drawn else 1)
EOP

[ $fails -eq 0 ] && echo "PASS launcher_demo" || { echo "$fails failure(s)" >&2; exit 1; }
