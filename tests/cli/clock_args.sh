#!/usr/bin/env bash
# The QEMU command line of each clock, seen by a stand-in QEMU that records
# its arguments (no guest boots):
#   run --clock virtual, -q_trace ...,clock=virtual  -> -icount shift=0,sleep=off
#                                                       and a guest-time RTC, unless the user gives -rtc
#   run (default), --clock host                      -> no -icount
#   record                                           -> -icount shift=auto,rr=record,..., -nic none, no -plugin
source "$(dirname "$0")/launcher_cli_lib.sh"

: >"$tmp/fake.so"
: >"$tmp/kernel"
export QEMUTRACE_PLUGIN=$tmp/fake.so
cat >"$tmp/qemu" <<EOS
#!/bin/sh
[ "\$1" = --version ] && { echo "QEMU emulator version 10.0.2"; exit 0; }
printf '%s\n' "\$@" >"$tmp/args"
exit 1
EOS
chmod +x "$tmp/qemu"
export QEMUTRACE_QEMU=$tmp/qemu

# args_of NAME CMD...: runs CMD (which fails at the stand-in QEMU); prints the
# QEMU arguments on one line.
args_of() {
  rm -f "$tmp/args"; shift
  timeout "$QT_DEADLINE" "$@" >/dev/null 2>&1 </dev/null
  [ -f "$tmp/args" ] && tr '\n' ' ' <"$tmp/args" || echo "(QEMU not started)"
}
check() { # NAME WANT(regex) NOT(regex or -) CMD...
  local name=$1 want=$2 not=$3; shift 3
  local a; a=$(args_of "$name" "$@")
  if [[ ! $a =~ $want ]]; then fail "$name: no '$want' in: $a"
  elif [ "$not" != - ] && [[ $a =~ $not ]]; then fail "$name: '$not' in: $a"
  else ok "$name"; fi
}
check "run --clock virtual" "-icount shift=0,sleep=off " - "$qt" run --clock virtual --kernel "$tmp/kernel" --trace "$tmp/a"
check "run --clock virtual: guest-time RTC" "-rtc base=2020-01-01T00:00:00,clock=vm " - \
  "$qt" run --clock virtual --kernel "$tmp/kernel" --trace "$tmp/a"
check "run --clock virtual: the user's -rtc wins" "-rtc clock=host " "clock=vm" \
  "$qt" run --clock virtual --kernel "$tmp/kernel" --trace "$tmp/a" -- -rtc clock=host
check "run --clock host: no -rtc" "-plugin " "-rtc" "$qt" run --kernel "$tmp/kernel" --trace "$tmp/b"
check "legacy clock=virtual: guest-time RTC" "-rtc base=2020-01-01T00:00:00,clock=vm " - \
  "$legacy" -kernel "$tmp/kernel" -q_trace mode=file,file="$tmp/d",clock=virtual
check "run (host clock by default)" "-plugin " "-icount" "$qt" run --kernel "$tmp/kernel" --trace "$tmp/b"
check "run --clock host" "-plugin " "-icount" "$qt" run --clock host --kernel "$tmp/kernel" --trace "$tmp/c"
check "legacy clock=virtual" "-icount shift=0,sleep=off " - "$legacy" -kernel "$tmp/kernel" -q_trace mode=file,file="$tmp/d",clock=virtual
check "legacy default clock" "-plugin " "-icount" "$legacy" -kernel "$tmp/kernel" -q_trace mode=file,file="$tmp/e"
check "record" "-icount shift=auto,rr=record,rrfile=$tmp/rec/replay.bin .*" "-plugin" \
  "$qt" record --kernel "$tmp/kernel" --out "$tmp/rec"
check "record -nic none" "-nic none " - "$qt" record --kernel "$tmp/kernel" --out "$tmp/rec2"
check "record -smp 1" "-smp 1 " - "$qt" record --kernel "$tmp/kernel" --out "$tmp/rec3"

[ $fails -eq 0 ] && echo "PASS clock_args" || { echo "$fails failure(s)" >&2; exit 1; }
