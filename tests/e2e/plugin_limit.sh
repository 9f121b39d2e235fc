#!/usr/bin/env bash
# limit=N gives exactly N traced instructions in total across both cores and
# a LIMIT_REACHED marker; with exit_on_limit=on QEMU ends early and every file
# is complete.
source "$(dirname "$0")/plugin_lib.sh"
make_initrd x86_64 "$T/initrd" qt-loop 200000
L1=123457
boot x86_64 "$T/initrd" "$T/log" "base=$T/a,limit=$L1" || fail "qemu exit $?"
guest_ok "$T/log"
got=$(total_insns "$T/a")
note "limit=$L1 from the marker: traced $got"
[ "$got" = "$L1" ] || fail "limit $L1 gave $got"
n=$(for f in "$T"/a_[0-9]*; do "$QT" dump "$f"; done | grep -c 'limit_reached' || true)
[ "$n" -ge 1 ] || fail "no limit_reached marker"

# start=now with exit_on_limit: QEMU must stop on its own, long before the
# guest would finish, with complete files.
L2=3000000
start=$(date +%s)
boot x86_64 "$T/initrd" "$T/log2" "base=$T/b,start=now,limit=$L2,exit_on_limit=on" || fail "qemu exit $?"
got=$(total_insns "$T/b")
note "start=now limit=$L2 exit_on_limit=on: traced $got, QEMU exited after $(( $(date +%s) - start )) s"
[ "$got" = "$L2" ] || fail "limit $L2 gave $got"
tr -d '\r' <"$T/log2" | grep -q 'qemutrace-guest: exit' && fail "guest ran to the end: exit_on_limit did not stop QEMU"
"$QT" verify "$T/b" >/dev/null || fail "verify after exit_on_limit"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["complete"]; assert any(e["event"]=="limit_reached" for e in m["events"])' "$T/b.json" || fail "manifest"
echo "PASS plugin_limit: $L1 and $L2 exact"
