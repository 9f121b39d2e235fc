#!/usr/bin/env bash
# Boots the built-in guest under plain QEMU (no plugin) with -smp 2 and checks
# the /init protocol: workload via add-workload.sh, qt.run=, exit status, the
# default demo.  Usage: guest_boot.sh [x86_64|i386] (default x86_64).
set -uo pipefail
arch=${1:-x86_64}
src=${QEMUTRACE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/qt-guest-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL[$arch]: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok[$arch]: $*"; }
source "$src/tests/wait_lib.sh"

dir=$(bash "$src/guest/build-image.sh" --arch "$arch") || { echo "FAIL[$arch]: guest/build-image.sh failed" >&2; exit 1; }
qline=$(bash "$src/guest/build-image.sh" --arch "$arch" --print-qemu-args) || { echo "FAIL[$arch]: --print-qemu-args failed" >&2; exit 1; }
eval "qemu=($qline)"
case ${qemu[0]} in qemu-system-*) ok "qemu args: $qline" ;; *) echo "FAIL[$arch]: --print-qemu-args gave '$qline'" >&2; exit 1 ;; esac
command -v "${qemu[0]}" >/dev/null || { echo "FAIL[$arch]: ${qemu[0]} not installed" >&2; exit 1; }

# boot NAME INITRD [EXTRA_APPEND]: runs the recommended command with INITRD
# (and EXTRA_APPEND added to -append), console to $tmp/NAME.log.
boot() {
  local name=$1 initrd=$2 extra=${3:-} args=() i t0
  for ((i = 0; i < ${#qemu[@]}; i++)); do
    case ${qemu[i]} in
      -initrd) args+=(-initrd "$initrd"); i=$((i + 1)) ;;
      -append) args+=(-append "${qemu[i + 1]}${extra:+ $extra}"); i=$((i + 1)) ;;
      *) args+=("${qemu[i]}") ;;
    esac
  done
  t0=$(date +%s.%N)
  timeout "$QT_DEADLINE" "${args[@]}" </dev/null 2>&1 | tr -d '\r' >"$tmp/$name.log"
  echo "boot $name: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
}
check_common() { # check_common NAME WANT_STATUS
  local log=$tmp/$1.log
  grep -q '^qemutrace-guest: ready' "$log" || fail "$1: no 'qemutrace-guest: ready'"
  grep -q "cpus=2" "$log" || fail "$1: guest does not see 2 CPUs"
  grep -q 'Kernel panic' "$log" && fail "$1: kernel panic"
  if grep -q "^qemutrace-guest: exit $2\$" "$log"; then ok "$1: exit $2"
  else fail "$1: no 'qemutrace-guest: exit $2'"; fi
}
dump() { echo "--- console of $1 (last 30 lines) ---" >&2; tail -n 30 "$tmp/$1.log" >&2; }

# 1. A binary appended with add-workload.sh.
bash "$src/guest/add-workload.sh" "$tmp/loop.cpio" "$dir/programs/qt-loop" 100000 || fail "add-workload.sh"
cat "$dir/initrd.img" "$tmp/loop.cpio" >"$tmp/loop.img"
boot loop "$tmp/loop.img"
f0=$failures
check_common loop 0
line=$(grep '^qt-loop: ' "$tmp/loop.log")
[[ $line == *" n=100000 "*"expected_insns=400001 "* ]] && ok "loop: $line" || fail "loop: qt-loop output '$line'"
# Static non-PIE binary: the guest must print the same ROI range as a native run.
if native=$("$dir/programs/qt-loop" 100000 2>/dev/null); then
  [ "${native% acc=*}" = "${line% acc=*}" ] && ok "loop: ROI range matches a native run" ||
    fail "loop: guest '$line' vs native '$native'"
fi
[ $failures = $f0 ] || dump loop

# 2. qt.run= on the kernel command line, with a legacy-marker program.
boot qtrun "$dir/initrd.img" "qt.run=qt-legacy,1000"
f0=$failures
check_common qtrun 0
grep -q '^qt-legacy: n=1000 .*expected_insns=4001 ' "$tmp/qtrun.log" && ok "qtrun: qt-legacy ran via qt.run" ||
  fail "qtrun: no qt-legacy output"
[ $failures = $f0 ] || dump qtrun

# 3. A script workload: pinned thread, syscalls, and a non-zero status.
cat >"$tmp/multi.sh" <<'EOS'
#!/bin/sh
qt-pinned 1000 || exit 10
qt-syscall 10 || exit 11
qt-stride 4 4096 || exit 12
exit 3
EOS
bash "$src/guest/add-workload.sh" "$tmp/multi.cpio" "$tmp/multi.sh" || fail "add-workload.sh (script)"
cat "$dir/initrd.img" "$tmp/multi.cpio" >"$tmp/multi.img"
boot multi "$tmp/multi.img"
f0=$failures
check_common multi 3
grep -q '^qt-pinned: id=2 n=1000 cpu=1 cpu_after=1 ' "$tmp/multi.log" && ok "multi: qt-pinned on CPU 1" || fail "multi: qt-pinned"
grep -q '^qt-syscall: .* ok=1' "$tmp/multi.log" && ok "multi: qt-syscall" || fail "multi: qt-syscall"
[ "$(grep -c '^qt-stride: load ' "$tmp/multi.log")" = 4 ] && ok "multi: qt-stride" || fail "multi: qt-stride"
[ $failures = $f0 ] || dump multi

# 4. No workload: the default demo.
boot demo "$dir/initrd.img"
f0=$failures
check_common demo 0
[ "$(grep -c '^qt-demo: thread=[01] roi_ns=[0-9]' "$tmp/demo.log")" = 2 ] && ok "demo: both threads reported" ||
  fail "demo: qt-demo thread lines missing"
[ $failures = $f0 ] || dump demo

if [ $failures -ne 0 ]; then echo "guest_boot[$arch]: $failures failure(s)" >&2; exit 1; fi
echo "guest_boot[$arch]: all passed"
