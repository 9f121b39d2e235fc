#!/usr/bin/env bash
# Handshakes for the tests that run QEMU (sourced by plugin_lib.sh,
# launcher_lib.sh and launcher_cli_lib.sh). A test never sleeps for a
# fixed time hoping the guest got somewhere: it waits for a console line, a
# status the control socket reports, or a process to end, each with a
# deadline that fails the test with the thing it waited for.
#
# The deadlines are generous: a guest on a loaded 2-core host boots in a
# second or two when idle and in minutes when several builds and guests
# share the cores. QT_DEADLINE (seconds) overrides them all.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "wait_lib.sh: helpers only"; exit 0; }
QT_DEADLINE=${QT_DEADLINE:-600}

# wait_for WHAT PID CMD...: runs CMD until it succeeds, every 0.2 s. Calls
# `fail` (the sourcing library's) and returns 1 when QT_DEADLINE seconds pass
# first, or when process PID ends first ('-': none to watch).
wait_for() {
  local what=$1 pid=$2 end=$((SECONDS + QT_DEADLINE))
  shift 2
  until "$@"; do
    if [ "$pid" != - ] && ! kill -0 "$pid" 2>/dev/null; then
      "$@" && return 0  # it may have succeeded just before the end
      fail "the process under test ($pid) ended while waiting for $what"
      return 1
    fi
    if [ $SECONDS -ge $end ]; then
      fail "timed out after $QT_DEADLINE s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# console_has LOG TEXT: the guest console log LOG has a line holding TEXT.
console_has() { [ -f "$1" ] && tr -d '\r' <"$1" | grep -q -F -- "$2"; }

# host_serial_args SOCKET: QEMU arguments adding a second serial port (the
# guest's /dev/ttyS1) served on the unix socket SOCKET, through which a test
# sends lines to the guest (send_line). The guest script opens it first
# (`exec 3</dev/ttyS1`: from then on the tty keeps what arrives), says so on
# the console, and waits for the test with `read -r _ <&3`; the test sends
# only after it saw that console line (bytes that arrive before the open are
# dropped by the kernel's serial driver).
host_serial_args() { echo "-serial" "unix:$1,server=on,wait=off"; }

# send_line SOCKET TEXT: sends TEXT and a newline to the guest's /dev/ttyS1.
send_line() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
s.close()
PY
}

# wait_gone PID WHAT: waits for the background process PID to end, at most
# QT_DEADLINE seconds; then calls `fail` naming WHAT, ends it (SIGTERM) and
# returns 1. Collect its status with `wait PID` afterwards.
wait_gone() {
  local end=$((SECONDS + QT_DEADLINE))
  while kill -0 "$1" 2>/dev/null; do
    if [ $SECONDS -ge $end ]; then
      fail "timed out after $QT_DEADLINE s waiting for $2 to end"
      kill "$1" 2>/dev/null
      return 1
    fi
    sleep 0.2
  done
}
