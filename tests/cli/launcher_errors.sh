#!/usr/bin/env bash
# Bad launcher input: each case must fail with exactly one line on stderr,
# starting "qemutrace: " and naming the problem, and a non-zero exit.
# Fast: no guest boots. The plugin-load case needs QEMU (skipped without it).
source "$(dirname "$0")/launcher_cli_lib.sh"
[ -x "$qt" ] && [ -x "$legacy" ] || { echo "FAIL: $qt or $legacy missing" >&2; exit 1; }

# A plugin file that exists, so checks after the plugin lookup are reached.
: >"$tmp/fake.so"
export QEMUTRACE_PLUGIN=$tmp/fake.so
# A QEMU that is too old.
printf '#!/bin/sh\necho "QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-7)"\n' >"$tmp/oldqemu"
chmod +x "$tmp/oldqemu"

# expect WANT CMD...: CMD fails, one stderr line "qemutrace: ..." containing WANT.
expect() {
  local want=$1; shift
  local err rc
  err=$(timeout "$QT_DEADLINE" "$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ $rc -eq 0 ]; then fail "exit 0 for: $*"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || [[ $err != qemutrace:* ]]; then
    fail "not one 'qemutrace:' line for: $* -> $(printf '%q' "$err")"; return; fi
  if [[ $err != *"$want"* ]]; then fail "'$err' does not mention '$want' ($*)"; return; fi
  echo "ok: rc=$rc $err"
}

expect "bad --format value 'bogus'" "$qt" run --format bogus
expect "bad --start value 'later'" "$qt" run --start later
expect "bad --limit value 'lots'" "$qt" run --limit lots
expect "bad --limit value '0'" "$qt" run --limit 0
expect "bad --zstd value '23'" "$qt" run --zstd 23
expect "bad --zstd value '1x'" "$qt" run --zstd 1x
expect "bad --arch value 'mips'" "$qt" run --arch mips
expect "bad --smp value '0'" "$qt" run --smp 0
expect "bad -m value '12XB'" "$qt" run -m 12XB
expect "--every" "$qt" run --window 1000
expect "bad --every value '10'" "$qt" run --window 1000 --every 10
expect "--exit-on-limit needs --limit" "$qt" run --exit-on-limit
expect "bad --markers value" "$qt" run --markers some
expect "kernel not found: $tmp/no-vmlinuz" "$qt" run --kernel "$tmp/no-vmlinuz"
expect "initrd not found" "$qt" run --kernel "$tmp/fake.so" --initrd "$tmp/no-initrd"
expect "disk image not found: $tmp/no.img" "$qt" run --hda "$tmp/no.img"
expect "program not found: $tmp/no-prog" "$qt" run --program "$tmp/no-prog"
expect "dynamically linked" "$qt" run --program /bin/true
expect "--program runs in the built-in guest" "$qt" run --program x --hda y
expect "bad command 'go'" "$qt" ctl "$tmp/x" go
expect "no control socket" "$qt" ctl "$tmp/x" status
expect "bad -ST value 'many'" "$legacy" -q_trace mode=file,file="$tmp/t" -ST many
expect "-ST needs -q_trace" "$legacy" -ST 100
expect "-q_trace needs file=BASE" "$legacy" -q_trace mode=file
expect "bad -q_trace mode 'zip'" "$legacy" -q_trace mode=zip,file="$tmp/t"
expect "disk image not found: $tmp/disk.img" "$legacy" -hda "$tmp/disk.img" -q_trace mode=file,file="$tmp/t"
expect "bad --arch value 'sparc'" "$qt" guest build --arch sparc
# Hypervisors: checked before any guest is built or booted.
expect "--nested needs --arch x86_64" "$qt" run --nested --arch i386
expect "--nested runs in the built-in guest" "$qt" run --nested --kernel "$tmp/fake.so"
expect "--xen and --nested are two different hypervisors" "$qt" run --xen --nested
# The guest clock (run --clock, -q_trace clock=).
expect "bad clock 'wall'" "$qt" run --clock wall
expect "either --clock virtual or -icount" "$qt" run --clock virtual -- -icount shift=3
expect "bad -q_trace clock 'fast'" "$legacy" -q_trace mode=binary,file="$tmp/t",clock=fast
expect "either --clock virtual or -icount" "$legacy" -icount 1 -q_trace mode=binary,file="$tmp/t",clock=virtual
# record/replay: what QEMU cannot replay is refused before anything runs.
expect "cannot record --smp 2: QEMU's record/replay runs one core only" "$qt" record --smp 2 --out "$tmp/rec"
expect "cannot record --hda" "$qt" record --hda "$tmp/fake.so" --out "$tmp/rec"
expect "cannot record with -drive" "$qt" record --kernel "$tmp/fake.so" --out "$tmp/rec" -- -drive file=x
expect "cannot record with -snapshot" "$qt" record --kernel "$tmp/fake.so" --out "$tmp/rec" -- -snapshot
expect "cannot record with -netdev" "$qt" record --kernel "$tmp/fake.so" --out "$tmp/rec" -- -netdev user,id=n
expect "cannot record with -icount" "$qt" record --kernel "$tmp/fake.so" --out "$tmp/rec" -- -icount 1
expect "already exists" "$qt" record --kernel "$tmp/fake.so" --out "$tmp"
expect "is not a recording" "$qt" replay "$tmp/norec" --trace "$tmp/r"
mkdir -p "$tmp/badrec" && echo '{"qemutrace_recording": 1, "complete": false, "qemu_args": []}' >"$tmp/badrec/recording.json"
expect "is incomplete" "$qt" replay "$tmp/badrec" --trace "$tmp/r"
expect "bad --format value 'bogus'" "$qt" replay "$tmp/badrec" --trace "$tmp/r" --format bogus
expect "QEMU not found" env QEMUTRACE_QEMU="$tmp/no-qemu" "$qt" run --kernel "$tmp/fake.so"
expect "QEMU 7.2.0" env QEMUTRACE_QEMU="$tmp/oldqemu" "$qt" run --kernel "$tmp/fake.so"
# No qemu-system-aarch64 on PATH: the line names the package that has it.
expect "apt-get install -t bookworm-backports qemu-system-arm" env PATH=/nonexistent "$qt" run --arch aarch64 --kernel "$tmp/fake.so"
expect "too old" env QEMUTRACE_QEMU="$tmp/oldqemu" "$legacy" -q_trace mode=binary,file="$tmp/t"
expect "plugin not found: $tmp/none.so" env QEMUTRACE_PLUGIN="$tmp/none.so" "$qt" run --kernel "$tmp/fake.so"

# Socket path in use: something is serving BASE.ctl.
if command -v qemu-system-x86_64 >/dev/null; then
  # It serves until the test ends it.
  python3 -c 'import signal,socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); signal.pause()' "$tmp/busy.ctl" &
  spid=$!
  wait_for "the stand-in server's socket $tmp/busy.ctl" $spid test -S "$tmp/busy.ctl"
  expect "socket path in use: $tmp/busy.ctl" "$qt" run --kernel "$tmp/fake.so" --trace "$tmp/busy"
  kill $spid 2>/dev/null; wait $spid 2>/dev/null
  # The real plugin rejects an unknown option: QEMU does not start, one line.
  if [ -f "$build/lib/libqemutrace.so" ]; then
    unset QEMUTRACE_PLUGIN
    expect "bogus_key" "$qt" run --kernel "$tmp/fake.so" --trace "$tmp/p" --plugin-opt bogus_key=1
    expect "bogus_key" "$legacy" -nographic -q_trace mode=binary,file="$tmp/p",bogus_key=1
    # An option of another format is refused, not ignored.
    expect "option 'bbv_interval' applies to format=bbv only" "$qt" run --kernel "$tmp/fake.so" --trace "$tmp/p" \
      --format tejas --plugin-opt bbv_interval=1000
  else
    echo "skip: no $build/lib/libqemutrace.so for the plugin-load case"
  fi
else
  echo "skip: no qemu-system-x86_64 for the socket and plugin-load cases"
fi

[ $fails -eq 0 ] && echo "PASS launcher_errors" || { echo "$fails failure(s)" >&2; exit 1; }
