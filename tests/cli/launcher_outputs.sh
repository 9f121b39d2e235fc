#!/usr/bin/env bash
# What a run may write, and what it must leave alone (no guest boots):
#  - a trace base that is a device, a directory, or lies in /dev, /proc or
#    /sys, and a BASE_<k> or BASE.json in the way, are refused with one line
#    before QEMU starts and before anything is created (run and legacy);
#  - a run whose QEMU loses the race for BASE (its plugin cannot serve
#    BASE.ctl because another run just did) leaves the winner's socket alone.
source "$(dirname "$0")/launcher_cli_lib.sh"
[ -x "$qt" ] && [ -x "$legacy" ] || { echo "FAIL: $qt or $legacy missing" >&2; exit 1; }
: >"$tmp/fake.so"
: >"$tmp/kernel"
export QEMUTRACE_PLUGIN=$tmp/fake.so
cat >"$tmp/qemu" <<EOS
#!/bin/sh
[ "\$1" = --version ] && { echo "QEMU emulator version 10.0.2"; exit 0; }
touch "$tmp/qemu-ran"
exit 1
EOS
chmod +x "$tmp/qemu"
export QEMUTRACE_QEMU=$tmp/qemu

# refused WANT CMD...: non-zero exit, one "qemutrace: ..." line naming WANT,
# QEMU never started.
refused() {
  local want=$1; shift
  rm -f "$tmp/qemu-ran"
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ $rc -eq 0 ]; then fail "exit 0 for: $*"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || [[ $err != qemutrace:* ]]; then
    fail "not one 'qemutrace:' line for: $* -> $(printf '%q' "$err")"; return; fi
  if [[ $err != *"$want"* ]]; then fail "'$err' does not mention '$want' ($*)"; return; fi
  [ -e "$tmp/qemu-ran" ] && { fail "QEMU started for: $*"; return; }
  ok "rc=$rc $err"
}
no_files() {  # no_files BASE: nothing was created for BASE
  local f
  for f in "$1"_0 "$1"_1 "$1".json "$1".ctl; do [ -e "$f" ] && { fail "$f was created"; rm -f "$f"; }; done
  return 0
}

refused "/dev/null is a character device" "$qt" run --kernel "$tmp/kernel" --trace /dev/null
no_files /dev/null
refused "/dev/null is a character device" "$legacy" -kernel "$tmp/kernel" -q_trace mode=file,file=/dev/null
no_files /dev/null
refused "device directory" "$qt" run --kernel "$tmp/kernel" --trace "/dev/qt-outputs-$$"
no_files "/dev/qt-outputs-$$"
refused "/proc" "$qt" run --kernel "$tmp/kernel" --trace /proc/qt-trace
mkdir "$tmp/adir"
refused "$tmp/adir is a directory" "$qt" run --kernel "$tmp/kernel" --trace "$tmp/adir"
refused "$tmp/adir is a directory" "$qt" run --kernel "$tmp/kernel" --trace "$tmp/adir/"
mkdir -p "$tmp/way/t_1" "$tmp/way/u.json"
refused "$tmp/way/t_1 is a directory" "$qt" run --kernel "$tmp/kernel" --trace "$tmp/way/t"
refused "$tmp/way/u.json is a directory" "$legacy" -kernel "$tmp/kernel" -q_trace mode=file,file="$tmp/way/u"
[ -z "$(find "$tmp/way" -type f)" ] && ok "nothing written next to the directories in the way" ||
  fail "files written: $(find "$tmp/way" -type f)"
# A trace file may not be one of QEMU's inputs (here the kernel, and a disk
# through a symlink).
mkdir "$tmp/in" && echo kernel >"$tmp/in/t_0" && echo disk >"$tmp/in/disk.img" && ln -s disk.img "$tmp/in/d_1"
refused "$tmp/in/t_0 is an input" "$qt" run --kernel "$tmp/in/t_0" --trace "$tmp/in/t"
refused "is an input" "$legacy" -kernel "$tmp/kernel" -drive file="$tmp/in/disk.img",format=raw -q_trace mode=file,file="$tmp/in/d"
[ "$(cat "$tmp/in/t_0" "$tmp/in/disk.img")" = "$(printf 'kernel\ndisk')" ] && ok "the inputs are untouched" || fail "an input changed"
# A plain base in an ordinary directory still reaches QEMU.
rm -f "$tmp/qemu-ran"
"$qt" run --kernel "$tmp/kernel" --trace "$tmp/ok/t" >/dev/null 2>&1 </dev/null
[ -e "$tmp/qemu-ran" ] && ok "an ordinary base reaches QEMU" || fail "an ordinary base did not reach QEMU"

# The race for one BASE: both launchers found BASE.ctl free; the other run's
# plugin bound it first, so this run's plugin fails. The stand-in QEMU plays
# both parts: it starts the winner's server, waits until it answers, then
# fails as the losing plugin does.
cat >"$tmp/serve.py" <<'EOS'
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    try:  # a client may connect and leave without a command
        if c.recv(100):
            c.sendall(b'{"state":"tracing","instructions":7,"bytes":7,"cores":[]}\n')
    except OSError:
        pass
    c.close()
EOS
mkdir "$tmp/race"
cat >"$tmp/qemu-loser" <<EOS
#!/bin/sh
[ "\$1" = --version ] && { echo "QEMU emulator version 10.0.2"; exit 0; }
python3 "$tmp/serve.py" "$tmp/race/t.ctl" </dev/null >/dev/null 2>&1 &
echo \$! >"$tmp/winner.pid"
i=0
until "$qt" ctl "$tmp/race/t" status >/dev/null 2>&1; do
  i=\$((i + 1)); [ \$i -gt 600 ] && { echo "qemutrace: test server never answered" >&2; exit 1; }
  sleep 0.05
done
echo "qemutrace: bad value '$tmp/race/t.ctl' for 'ctl' (socket path in use: a server answers there)" >&2
exit 1
EOS
chmod +x "$tmp/qemu-loser"
err=$(QEMUTRACE_QEMU=$tmp/qemu-loser timeout 120 "$qt" run --kernel "$tmp/kernel" --trace "$tmp/race/t" 2>&1 >/dev/null </dev/null); rc=$?
[ $rc -ne 0 ] && [[ $err == *"socket path in use"* ]] && ok "the loser fails: rc=$rc $err" || fail "the loser: rc=$rc '$err'"
[ -S "$tmp/race/t.ctl" ] && ok "the winner's socket is still there" || fail "the loser removed the winner's socket"
s=$("$qt" ctl "$tmp/race/t" status 2>&1) && [[ $s == *'"instructions":7'* ]] && ok "qemutrace ctl reaches the winner: $s" ||
  fail "qemutrace ctl after the race: $s"
[ -s "$tmp/winner.pid" ] && kill "$(cat "$tmp/winner.pid")" 2>/dev/null

[ $fails -eq 0 ] && echo "PASS launcher_outputs" || { echo "$fails failure(s)" >&2; exit 1; }
