#!/usr/bin/env bash
# Every file is finished (index, footer, complete manifest) when QEMU ends
# through SIGTERM, SIGINT or the monitor's `quit` while tracing.
source "$(dirname "$0")/plugin_lib.sh"
make_initrd_script x86_64 "$T/initrd" 'while :; do sleep 3600; done'
check_complete() {  # BASE WHAT
  "$QT" stats --json "$1" >"$T/stats.json" || fail "$2: stats failed"
  python3 - "$1.json" "$T/stats.json" <<'PY' || fail "$2: files or manifest incomplete"
import json, sys
m = json.load(open(sys.argv[1])); st = json.load(open(sys.argv[2]))
assert m["complete"], "manifest not complete"
assert all(c["complete"] for c in st["cores"]), "a core file has no footer"
assert st["total"]["instructions"] > 0
PY
  local n=0 c f
  for f in "$1"_[0-9]*; do
    c=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])' < <("$QT" stats --json "$f"))
    "$QT" dump "$f" --from $((c > 2 ? c - 2 : 0)) | grep -q 'roi_end end_of_run' && n=$((n + 1))
  done
  [ "$n" -ge 1 ] || fail "$2: no ROI_END (end of run) marker"
  note "$2: complete, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["instructions"])' "$T/stats.json") instructions"
}
# traced BASE: the run's control socket reports instructions traced.
traced() {
  local s
  s=$("$QT" ctl "$1.ctl" status 2>/dev/null) &&
    python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["instructions"] == 0)' "$s"
}
# Each run ends only by the test's hand: it signals QEMU once the control
# socket reports instructions traced (tracing since the first instruction;
# the guest would idle forever once booted).
for sig in TERM INT; do
  boot x86_64 "$T/initrd" "$T/log.$sig" "base=$T/$sig,start=now,ctl=$T/$sig.ctl" &
  pid=$!
  wait_for "instructions traced (SIG$sig run)" $pid traced "$T/$sig"
  qpid=$(pgrep -f "base=$T/$sig,start=now" | while read -r p; do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"; done | head -n1) || true
  [ -n "$qpid" ] || fail "QEMU not found"
  kill -"$sig" "$qpid"
  wait "$pid" || true
  check_complete "$T/$sig" "SIG$sig"
done
boot x86_64 "$T/initrd" "$T/log.quit" "base=$T/quit,start=now,ctl=$T/quit.ctl" -monitor "unix:$T/mon,server,nowait" &
pid=$!
wait_for "instructions traced (monitor quit run)" $pid traced "$T/quit"
# The monitor's banner and prompt first, then `quit`; QEMU closes the
# connection when it is gone.
python3 - "$T/mon" "$QT_DEADLINE" <<'PY' || fail "monitor quit: no prompt, or QEMU did not end"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(sys.argv[2]))
s.connect(sys.argv[1])
buf = b""
while b"(qemu)" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("monitor closed before its prompt")
    buf += d
s.sendall(b"quit\n")
while s.recv(4096):
    pass
PY
wait "$pid" || true
check_complete "$T/quit" "monitor quit"
echo "PASS plugin_exit"
