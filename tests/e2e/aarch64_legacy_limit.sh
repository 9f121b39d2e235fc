#!/usr/bin/env bash
# The legacy front end for aarch64: qemutrace-system-aarch64 ... -q_trace
# mode=binary,file=BASE -ST N, with no -M on the command line (the front end
# adds the built-in guest's board), gives exactly N instructions over both
# cores: the guest's qt-loop marker starts tracing, the limit stops it, the
# guest powers off. An unknown --arch is refused in one line naming aarch64.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$build/bin/qemutrace-system-aarch64" ] || { echo "FAIL: qemutrace-system-aarch64 missing" >&2; exit 1; }

out=$("$qt" run --arch sparc --program qt-loop --trace "$tmp/x" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ $out == *"x86_64, i386 or aarch64"* ]] &&
  ok "bad --arch: $out" || fail "bad --arch gave rc $rc: $out"

legacy_st_limit aarch64 123457

[ $fails -eq 0 ] && echo "PASS aarch64_legacy_limit" || { echo "$fails failure(s)" >&2; exit 1; }
