#!/usr/bin/env bash
# A stale `int $100` never starts tracing. First a process whose SIGSEGV
# handler jumps away from its `int $100` walks the return point itself (same
# CR3, so this part fails deterministically without the rule). Then the
# reported sequence: a program dies of SIGSEGV on a bare
# `int $100` (no qemutrace-guest-run), then a program run under the helper
# first walks through that same return point unmarked (a new process, the
# same virtual address, possibly the same CR3), then runs its marked region.
# Only the marked region is traced: exactly 1+4N user instructions in it,
# plus the two before the stop marker.
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
user=$("$QT" stats --json "$T/tr" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["user_instructions"])')
note "marked region: $got user instructions in [$lo,$hi) (expected $want); user instructions in the trace: $user"
[ "$got" = "$want" ] || fail "region count $got != $want (the unmarked walk or nothing was traced)"
# The region, then `test; jz` before the `int $101` that stops tracing.
[ "$user" = "$((want + 2))" ] || fail "$user user instructions traced, expected only the region's $want + 2"
echo "PASS plugin_legacy_stale: $got"
