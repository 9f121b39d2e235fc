#!/usr/bin/env bash
# Every file is finished (index, footer, complete manifest) when QEMU ends
# through SIGTERM, SIGINT or the monitor's `quit` while tracing.
source "$(dirname "$0")/plugin_lib.sh"
make_initrd_script x86_64 "$T/initrd" 'sleep 30'
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
for sig in TERM INT; do
  boot x86_64 "$T/initrd" "$T/log.$sig" "base=$T/$sig,start=now" &
  pid=$!
  sleep 4
  qpid=$(pgrep -f "base=$T/$sig,start=now" | while read -r p; do
    [ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"; done | head -n1)
  [ -n "$qpid" ] || fail "QEMU not found"
  kill -"$sig" "$qpid"
  wait "$pid" || true
  check_complete "$T/$sig" "SIG$sig"
done
boot x86_64 "$T/initrd" "$T/log.quit" "base=$T/quit,start=now" -monitor "unix:$T/mon,server,nowait" &
pid=$!
sleep 4
python3 - "$T/mon" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.5)
s.sendall(b"quit\n"); time.sleep(1)
PY
wait "$pid" || true
check_complete "$T/quit" "monitor quit"
echo "PASS plugin_exit"
