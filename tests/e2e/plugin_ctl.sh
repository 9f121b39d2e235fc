#!/usr/bin/env bash
# Console start/stop through the control socket (ctl=PATH, start=console):
# status/start/stop replies, the socket's mode, refusing a path in use, and
# ROI markers with source "console" in the trace.
# Handshakes, no timed waits: the guest waits on its second serial port for
# the test's "go" before its work (a shell loop of a known length, no ROI
# markers of its own, then an idle `sleep 2` so that the trace holds halts),
# so the work is traced however late the start comes, and for "end" after
# it; the test waits for the guest's console lines.
source "$(dirname "$0")/plugin_lib.sh"
# A core ends its region (ROI_END console) only when it next runs a block
# translated while tracing; if the stop's translation flush comes first, the
# region ends at exit as ROI_END end_of_run and the check below fails (a
# plugin race, seen under load even with this busy loop across the stop).
make_initrd_script x86_64 "$T/initrd" 'exec 3</dev/ttyS1; echo qt-ctl-listening
read -r _ <&3; i=0; while [ $i -lt 1000 ]; do i=$((i + 1)); done; sleep 2
(while :; do :; done) & busy=$!
echo qt-ctl-worked
read -r _ <&3; kill $busy; echo qt-ctl-done'
sock=$T/ctl.sock
ctl() {
  python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(300)  # the plugin answers at once; a loaded host may delay that
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(4096)
    if not d: break
    buf += d
print(buf.decode().strip())
PY
}
# shellcheck disable=SC2046
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr,start=console,ctl=$sock" $(host_serial_args "$T/host") &
qpid=$!
wait_for "the control socket $sock" $qpid test -S "$sock"
mode=$(stat -c %a "$sock")
[ "$mode" = 600 ] || fail "socket mode $mode"
# A second QEMU must refuse the same path.
rc=0
timeout "$QT_DEADLINE" qemu-system-x86_64 -display none -monitor none -serial none -plugin "$PLUGIN,base=$T/other,ctl=$sock" \
  -kernel /nonexistent 2>"$T/err2" || rc=$?
[ $rc -ne 0 ] && grep -q "^qemutrace: .*in use" "$T/err2" || { cat "$T/err2"; fail "second server on the same path was not refused"; }
st=$(ctl status)
note "status before: $st"
echo "$st" | grep -q '"state":"off"' || fail "not off at start: $st"
wait_for "the guest's 'qt-ctl-listening'" $qpid console_has "$T/log" qt-ctl-listening
r=$(ctl start); note "start -> $r"; [ "$r" = "ok tracing" ] || fail "start reply '$r'"
send_line "$T/host" go
wait_for "the guest's 'qt-ctl-worked'" $qpid console_has "$T/log" qt-ctl-worked
st=$(ctl status); note "status tracing: $st"
echo "$st" | grep -q '"state":"tracing"' || fail "not tracing: $st"
r=$(ctl stop); note "stop -> $r"; [ "$r" = "ok off" ] || fail "stop reply '$r'"
r=$(ctl bogus); [ "$r" = "error unknown command" ] || fail "unknown command reply '$r'"
send_line "$T/host" end
wait $qpid || fail "qemu exit $?"
guest_ok "$T/log"
got=$(total_insns "$T/tr")
note "traced $got instructions between start and stop"
[ "$got" -gt 1000000 ] || fail "too few instructions traced ($got)"
b=$(for f in "$T"/tr_[0-9]*; do "$QT" dump "$f"; done | grep -c 'roi_begin console' || true)
e=$(for f in "$T"/tr_[0-9]*; do "$QT" dump "$f"; done | grep -c 'roi_end console' || true)
note "markers: roi_begin console x$b, roi_end console x$e"
[ "$b" -ge 1 ] && [ "$e" -ge 1 ] || fail "console markers missing"
[ ! -e "$sock" ] || fail "socket not removed at exit"
# The trace covers the guest's `sleep 2`, so the cores halt. A vCPU that
# halts ends its open record (on_idle) and checks the successor when it
# wakes: every HLT that execution leaves other than by falling through (an
# interrupt) is followed by a DISCONTINUITY (or ROI) marker.
# (Each HLT with the four lines after it: its markers and next instruction.)
for f in "$T"/tr_[0-9]*; do "$QT" dump "$f" | grep -a -E -A4 ' hlt$'; echo "--"; done | python3 -c '
import re, sys
halts = breaks = bad = 0
expect = None
marked = False
for line in sys.stdin:
    if line.startswith("--"):
        expect, marked = None, False
    elif line.startswith("M "):
        marked = marked or line.startswith(("M discontinuity", "M roi_"))
    else:
        m = re.match(r"^\d+ \d+ (0x[0-9a-f]+) [KU] ([0-9a-f]+) (\S+)", line)
        if not m:
            continue
        pc = int(m.group(1), 16)
        if expect is not None and pc != expect:
            breaks += 1
            bad += not marked
        expect = pc + len(m.group(2)) // 2 if m.group(3) == "hlt" else None
        halts += m.group(3) == "hlt"
        marked = False
print(f"  {halts} hlt traced, {breaks} left by an interrupt, {bad} of those unmarked")
sys.exit(0 if halts and breaks and not bad else 1)
' || fail "HLT successors: an interrupt after a halt without a DISCONTINUITY marker, or no halt traced"
echo "PASS plugin_ctl: $got instructions"
