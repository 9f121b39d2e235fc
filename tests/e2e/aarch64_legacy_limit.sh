#!/usr/bin/env bash
# The legacy front end for aarch64: qemutrace-system-aarch64 ... -q_trace
# mode=binary,file=BASE -ST N, with no -M on the command line (the front end
# adds the built-in guest's board), gives exactly N instructions over both
# cores: the guest's qt-loop marker starts tracing, the limit stops it, the
# guest powers off. An unknown --arch is refused in one line naming aarch64.
source "$(dirname "$0")/launcher_lib.sh"
legacy=$build/bin/qemutrace-system-aarch64
[ -x "$legacy" ] || { echo "FAIL: $legacy missing" >&2; exit 1; }

out=$("$qt" run --arch sparc --program qt-loop --trace "$tmp/x" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ $out == *"x86_64, i386 or aarch64"* ]] &&
  ok "bad --arch: $out" || fail "bad --arch gave rc $rc: $out"

guest=$("$qt" guest build --arch aarch64) || { echo "FAIL: qemutrace guest build --arch aarch64" >&2; exit 1; }
N=123457
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$guest/programs/qt-loop" 2000000 || { echo "FAIL: add-workload" >&2; exit 1; }
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"
timeout "$QT_DEADLINE" "$legacy" -smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img" \
  -append "console=ttyAMA0 quiet panic=-1 cryptomgr.notests mitigations=off" -nographic -no-reboot -nic none \
  -q_trace mode=binary,file="$tmp/st" -ST $N </dev/null >"$tmp/st.out" 2>"$tmp/st.err"
rc=$?
[ $rc -eq 0 ] && ok "qemutrace-system-aarch64 -ST $N: exit 0" || { fail "legacy -ST run exit $rc"; tail -5 "$tmp/st.err" >&2; }
tr -d '\r' <"$tmp/st.out" | grep -q "qemutrace-guest: arch=aarch64" && ok "an aarch64 guest booted" || fail "no aarch64 guest on the console"
grep -q "qemutrace-guest: exit 0" "$tmp/st.out" && ok "workload finished" || fail "workload did not finish"
got=$("$qt" stats --json "$tmp"/st_[0-9]* | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])')
[ "$got" = "$N" ] && ok "-ST $N: $got instructions in total" || fail "-ST $N gave '$got' instructions"
grep -q "limit reached" "$tmp/st.err" && ok "limit reported on stderr" || fail "no 'limit reached' note on stderr"

[ $fails -eq 0 ] && echo "PASS aarch64_legacy_limit" || { echo "$fails failure(s)" >&2; exit 1; }
