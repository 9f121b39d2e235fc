#!/usr/bin/env bash
# Instruction limits:
#  - legacy: qemutrace-system-x86_64 ... -q_trace mode=binary,file=BASE -ST N
#    gives exactly N instructions in total over both cores (the guest's
#    qt-loop marker starts tracing, the limit stops it, the guest powers off);
#  - qemutrace run --limit N --exit-on-limit gives exactly N and exits 0
#    (QEMU ends at the limit, long before the workload would finish).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$legacy" ] || { echo "FAIL: $legacy missing" >&2; exit 1; }
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
total_of() { "$qt" stats --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])'; }

N=123457
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$guest/programs/qt-loop" 2000000 || { echo "FAIL: add-workload" >&2; exit 1; }
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"
timeout "$QT_DEADLINE" "$legacy" -smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img" \
  -append "console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off no_timer_check" -nographic -no-reboot -nic none \
  -q_trace mode=binary,file="$tmp/st" -ST $N </dev/null >"$tmp/st.out" 2>"$tmp/st.err"
rc=$?
[ $rc -eq 0 ] && ok "legacy -ST $N run exit 0" || { fail "legacy -ST run exit $rc"; cat "$tmp/st.err" >&2; }
grep -q "qemutrace-guest: exit 0" "$tmp/st.out" && ok "guest console passed through" || fail "guest console missing from stdout"
got=$(total_of "$tmp"/st_[0-9]*)
[ "$got" = "$N" ] && ok "-ST $N: $got instructions in total" || fail "-ST $N gave '$got' instructions"
grep -q "limit reached" "$tmp/st.err" && ok "limit reported on stderr" || fail "no 'limit reached' note on stderr"

# The i386 front end, same check.
if g386=$("$qt" guest build --arch i386 2>/dev/null); then
  bash "$src/guest/add-workload.sh" "$tmp/w386.cpio" "$g386/programs/qt-loop" 2000000
  cat "$g386/initrd.img" "$tmp/w386.cpio" >"$tmp/initrd386.img"
  timeout "$QT_DEADLINE" "$build/bin/qemutrace-system-i386" -smp 2 -m 512M -kernel "$g386/vmlinuz" -initrd "$tmp/initrd386.img" \
    -append "console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off no_timer_check noisapnp" -nographic -no-reboot -nic none \
    -q_trace mode=binary,file="$tmp/st386" -ST $N </dev/null >"$tmp/st386.out" 2>"$tmp/st386.err"
  got=$(total_of "$tmp"/st386_[0-9]*)
  [ "$got" = "$N" ] && ok "qemutrace-system-i386 -ST $N: $got instructions" || fail "qemutrace-system-i386 -ST $N gave '$got' ($(tail -n1 "$tmp/st386.err"))"
else
  fail "i386 guest build failed"
fi

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
