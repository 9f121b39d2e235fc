#!/usr/bin/env bash
# A stale `int $100` never starts tracing. First a process whose SIGSEGV
# handler jumps away from its `int $100` walks the return point itself (same
# CR3, so this part fails deterministically without the rule). Then the
# reported sequence: a program dies of SIGSEGV on a bare
# `int $100` (no qemutrace-guest-run), then a program run under the helper
# first walks through that same return point unmarked (a new process, the
# same virtual address, possibly the same CR3), then runs its marked region.
# Only the marked region is traced: exactly 1+4N user instructions in it,
# plus the two before the stop marker, in its process.
source "$(dirname "$0")/plugin_lib.sh"
N=20000
make_initrd_script x86_64 "$T/initrd" "qt-stale jump; qt-stale die; echo \"qt-stale-die: status \$?\"; qemutrace-guest-run qt-stale $N"
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr,markers=int" || fail "qemu exit $?"
guest_ok "$T/log"
tr -d '\r' <"$T/log" | grep -q 'qt-stale-die: status 139' || { cat "$T/log" >&2; fail "qt-stale die did not die of SIGSEGV"; }
lo=$(field "$T/log" qt-stale roi_pc_begin)
hi=$(field "$T/log" qt-stale roi_pc_end)
want=$(field "$T/log" qt-stale expected_insns)
got=0
for f in "$T"/tr_[0-9]*; do got=$((got + $(count_range "$f" "$lo" "$hi" U))); done
read -r spaces user others < <(user_by_space "$T/tr" "$lo" "$hi")
note "marked region: $got user instructions in [$lo,$hi) (expected $want); in its address space: $user;" \
  "in other processes while it ran: $others"
[ "$got" = "$want" ] || fail "region count $got != $want (the unmarked walk or nothing was traced)"
[ "$spaces" = 1 ] || fail "$spaces address spaces ran [$lo,$hi) while tracing, expected only the marked process"
# In its process: the region, then `test; jz` before the `int $101` that
# stops tracing, and not its unmarked walk before. Other processes may run
# while the region runs (the helper's parent returning from fork on another
# core); a stale start in qt-stale jump would show in the [lo,hi) counts.
[ "$user" = "$((want + 2))" ] || fail "$user user instructions traced in the region's process, expected only the region's $want + 2"
echo "PASS plugin_legacy_stale: $got"
