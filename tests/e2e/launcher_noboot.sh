#!/usr/bin/env bash
# A disk image that does not boot: the firmware (SeaBIOS) prints
# "No bootable device." on the serial console and waits forever. `run --hda`
# and the legacy front end must notice, end QEMU and fail with one line that
# says what to do (a bootloader, or --kernel/--initrd with console=ttyS0).
# The timeout is the test's deadline, not a wait: a run that hangs fails.
source "$(dirname "$0")/launcher_lib.sh"
truncate -s 1M "$tmp/blank.img"   # no MBR, no bootloader

# check NAME RC ERRFILE: non-zero rc, one "qemutrace:" line with the hints.
check() {
  local name=$1 rc=$2 err=$3 line
  [ "$rc" -ne 124 ] || { fail "$name: still waiting after the deadline (hung after 'No bootable device.')"; return; }
  [ "$rc" -ne 0 ] && ok "$name: exit $rc" || fail "$name: exit 0 for a disk that does not boot"
  # The error is the last line (QEMU's and the plugin's exit notes may come before it).
  line=$(tail -n1 "$err")
  [[ $line == qemutrace:* ]] && [ "$(grep -c 'no bootable device' "$err")" = 1 ] ||
    { fail "$name: the last line is not the one error: $(cat "$err")"; return; }
  for want in "no bootable device" "bootloader" "--kernel/--initrd" "console=ttyS0"; do
    [[ $line == *"$want"* ]] || fail "$name: '$line' does not mention '$want'"
  done
  ok "$name: $line"
}

# -nic none: no iPXE network boot attempt first, so the firmware gives up at once.
timeout 120 "$qt" run --hda "$tmp/blank.img" --trace "$tmp/t" --quiet -- -nic none \
  </dev/null >"$tmp/run.out" 2>"$tmp/run.err"
check "run --hda" $? "$tmp/run.err"
grep -q "No bootable device" "$tmp/run.out" && ok "the firmware's line reached the console" ||
  fail "no 'No bootable device' on the console: $(tail -c 300 "$tmp/run.out")"
[ -e "$tmp/t.ctl" ] && fail "control socket $tmp/t.ctl left behind" || ok "no control socket left"

timeout 120 "$legacy" -hda "$tmp/blank.img" -nographic -nic none -q_trace mode=binary,file="$tmp/l" \
  </dev/null >"$tmp/legacy.out" 2>"$tmp/legacy.err"
check "legacy -hda" $? "$tmp/legacy.err"

[ $fails -eq 0 ] && echo "PASS launcher_noboot" || { echo "$fails failure(s)" >&2; exit 1; }
