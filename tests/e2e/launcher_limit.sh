#!/usr/bin/env bash
# Instruction limits:
#  - legacy: qemutrace-system-x86_64 and -i386 ... -q_trace mode=binary,file=BASE
#    -ST N give exactly N instructions in total over both cores (the guest's
#    qt-loop marker starts tracing, the limit stops it, the guest powers off);
#  - qemutrace run --limit N --exit-on-limit gives exactly N and exits 0
#    (QEMU ends at the limit, long before the workload would finish).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$legacy" ] || { echo "FAIL: $legacy missing" >&2; exit 1; }

legacy_st_limit x86_64 123457
legacy_st_limit i386 123457

M=250000
t0=$(date +%s.%N)
"$qt" run --quiet --program qt-loop --args 100000000 --limit $M --exit-on-limit --trace "$tmp/lim" >"$tmp/lim.out" 2>"$tmp/lim.err"
rc=$?
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
[ $rc -eq 0 ] && ok "run --limit $M --exit-on-limit: exit 0 in $el s" || { fail "run --limit exit $rc"; cat "$tmp/lim.err" >&2; }
got=$(total_of "$tmp"/lim_[0-9]*)
[ "$got" = "$M" ] && ok "--limit $M: $got instructions in total" || fail "--limit $M gave '$got' instructions"
grep -q "qemutrace-guest: exit" "$tmp/lim.out" && fail "the workload ran to its end: QEMU did not exit at the limit" ||
  ok "QEMU ended at the limit"

[ $fails -eq 0 ] && echo "PASS launcher_limit" || { echo "$fails failure(s)" >&2; exit 1; }
