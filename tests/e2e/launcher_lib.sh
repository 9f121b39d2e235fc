#!/usr/bin/env bash
# Shared preamble of the launcher end-to-end tests (sourced by launcher_*.sh,
# not registered as a test). Sets src, build, qt, legacy and a temp dir tmp
# removed on exit (a background run whose pid is in $runpid is killed), and
# fail/ok, which count failures in $fails for the test's final verdict.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "launcher_lib.sh: helpers only"; exit 0; }
set -uo pipefail
src=${QEMUTRACE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${QEMUTRACE_BUILD:-$src/build}
export QEMUTRACE_SRC=$src
qt=$build/bin/qemutrace
legacy=$build/bin/qemutrace-system-x86_64
tmp=$(mktemp -d "/tmp/qt-$(basename "$0" .sh).XXXXXX")
runpid=
source "$(dirname "${BASH_SOURCE[0]}")/verify_lib.sh"
# On a passing test's exit, every finished run it left must verify.
launcher_test_exit() {
  local rc=$?
  [ -n "$runpid" ] && kill "$runpid" 2>/dev/null
  if [ $rc = 0 ] && ! verify_traces "$qt" "$tmp"; then rc=1; fi
  rm -rf "$tmp"
  exit $rc
}
trap launcher_test_exit EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
source "$(dirname "${BASH_SOURCE[0]}")/../wait_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh"

# total_of FILE...: instructions over the given per-core trace files.
total_of() { "$qt" stats --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])'; }

# legacy_st_limit ARCH N: qemutrace-system-ARCH boots the built-in guest with
# qt-loop as its workload, -q_trace mode=binary and -ST N, and no board
# options (the front end adds the guest's). Wants exit 0, the guest of ARCH
# on the console running the workload to its end, exactly N instructions over
# both cores (qt-loop's marker starts tracing, the limit stops it) and
# "limit reached" on stderr.
legacy_st_limit() {
  local arch=$1 n=$2 base=$tmp/st-$1 g append got rc uname=$1
  [ "$arch" = i386 ] && uname=i686  # the 686 kernel's uname -m
  g=$("$qt" guest build --arch "$arch") || { fail "qemutrace guest build --arch $arch"; return; }
  append=$(guest_append "$qt" "$arch") || { fail "no kernel command line for the $arch guest"; return; }
  bash "$src/guest/add-workload.sh" "$base.cpio" "$g/programs/qt-loop" 2000000 || { fail "add-workload ($arch)"; return; }
  cat "$g/initrd.img" "$base.cpio" >"$base.initrd"
  timeout "$QT_DEADLINE" "$build/bin/qemutrace-system-$arch" -smp 2 -m 512M -kernel "$g/vmlinuz" -initrd "$base.initrd" \
    -append "$append" -nographic -no-reboot -nic none \
    -q_trace mode=binary,file="$base" -ST "$n" </dev/null >"$base.out" 2>"$base.err"
  rc=$?
  [ $rc -eq 0 ] && ok "qemutrace-system-$arch -ST $n: exit 0" || { fail "qemutrace-system-$arch -ST $n: exit $rc"; tail -5 "$base.err" >&2; }
  tr -d '\r' <"$base.out" | grep -q "qemutrace-guest: arch=$uname " && ok "the $arch guest booted" || fail "no $arch guest on the console"
  grep -q "qemutrace-guest: exit 0" "$base.out" && ok "$arch: workload finished" || fail "$arch: workload did not finish"
  got=$(total_of "$base"_[0-9]*)
  [ "$got" = "$n" ] && ok "$arch -ST $n: $got instructions in total" || fail "$arch -ST $n gave '$got' instructions"
  grep -q "limit reached" "$base.err" && ok "$arch: limit reported on stderr" || fail "$arch: no 'limit reached' note on stderr"
}
