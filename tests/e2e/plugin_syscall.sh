#!/usr/bin/env bash
# Busy syscall loop: every user `syscall` in the ROI is followed on its core
# by kernel (CPL 0) instructions, and the kernel part is in the trace.
source "$(dirname "$0")/plugin_lib.sh"
N=500
make_initrd x86_64 "$T/initrd" qt-syscall $N
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr" || fail "qemu exit $?"
guest_ok "$T/log"
res=$(for f in "$T"/tr_[0-9]*; do "$QT" dump "$f"; done | awk '
  $1 ~ /^[0-9]+$/ && NF >= 5 {
    if (prev_sys) { if ($4 == "K") { entered++; entry[$3]++ } }
    prev_sys = ($4 == "U" && $5 == "0f05")
    if ($4 == "K") k++
  }
  END { n = 0; for (e in entry) n++; print entered + 0, k + 0, n }')
read -r entered kernel entries <<<"$res"
note "syscalls entering the kernel: $entered (want >= $N), kernel instructions: $kernel, entry points: $entries"
[ "$entered" -ge "$N" ] || fail "only $entered syscalls followed by CPL 0 code"
[ "$kernel" -gt $((N * 20)) ] || fail "too few kernel instructions ($kernel)"
echo "PASS plugin_syscall: $entered syscalls, $kernel kernel instructions"
