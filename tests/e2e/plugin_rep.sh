#!/usr/bin/env bash
# REP string instructions (QEMU 10 loops them inside the block, re-entering
# the instruction every 65535 iterations): every iteration's accesses are in
# the trace, and the instruction count follows docs/plugin.md: one retired
# instance per execution, split every 65534 accesses (the format's per-record
# limit) and where an interrupt or exception cuts it.
source "$(dirname "$0")/plugin_lib.sh"
command -v gcc >/dev/null || fail "gcc needed to build the test program"
N=300000
cat >"$T/rep.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "qemutrace.h"
extern char rep1[], rep2[], rep3[];
int main(int argc, char **argv) {
  unsigned long n = strtoul(argv[1], 0, 0);
  char *src = malloc(n + 4096), *dst = malloc(n + 4096);
  unsigned long *q = malloc(800);
  memset(src, 1, n); memset(dst, 2, n); memset(q, 0, 800); /* no faults in the ROI */
  void *s = src, *d = dst, *qq = q;
  unsigned long c = n, c2 = 100, c0 = 0;
  qemutrace_start(9);
  __asm__ __volatile__(".globl rep1\nrep1: rep movsb\n\t"
                       "mov %[qq], %%rdi\n\tmov %[c2], %%rcx\n\txor %%eax, %%eax\n\t"
                       ".globl rep2\nrep2: rep stosq\n\t"
                       "mov %[c0], %%rcx\n\t"
                       ".globl rep3\nrep3: rep movsb\n\t"
                       : "+S"(s), "+D"(d), "+c"(c)
                       : [qq] "r"(qq), [c2] "r"(c2), [c0] "r"(c0)
                       : "rax", "memory");
  qemutrace_stop(9);
  printf("qt-rep: n=%lu rep1=%p rep2=%p rep3=%p src=%p dst=%p q=%p\n", n, rep1, rep2, rep3, src, dst, q);
  return 0;
}
C
gcc -O2 -static -I"$QEMUTRACE_SRC/guest" -o "$T/qt-rep" "$T/rep.c"
"$QEMUTRACE_SRC/guest/add-workload.sh" "$T/extra.cpio" "$T/qt-rep" $N
cat "$(guest_dir x86_64)/initrd.img" "$T/extra.cpio" >"$T/initrd"
boot x86_64 "$T/initrd" "$T/log" "base=$T/tr,count_check=on" || fail "qemu exit $?"
guest_ok "$T/log"
r1=$(field "$T/log" qt-rep rep1); r2=$(field "$T/log" qt-rep rep2); r3=$(field "$T/log" qt-rep rep3)
src=$(field "$T/log" qt-rep src); dst=$(field "$T/log" qt-rep dst); q=$(field "$T/log" qt-rep q)
for f in "$T"/tr_[0-9]*; do "$QT" dump "$f"; done | awk -v r1="$r1" -v r2="$r2" -v r3="$r3" '
  $1 ~ /^[0-9]+$/ && NF >= 4 { cur = ($4 == "U") ? $3 : ""; if (cur == r1) i1++; if (cur == r2) i2++; if (cur == r3) i3++; next }
  $1 == "R" || $1 == "W" {
    split($2, a, "/")
    if (cur == r1) { if ($1 == "R") { l1++; print a[1] > LOADS } else { s1++; print a[1] > STORES } }
    if (cur == r2) { if ($1 == "W") s2++; else l2++ }
    if (cur == r3) a3++
  }
  END { print i1+0, l1+0, s1+0, i2+0, s2+0, l2+0, i3+0, a3+0 }' LOADS="$T/loads" STORES="$T/stores" >"$T/res"
read -r i1 l1 s1 i2 s2 l2 i3 a3 <"$T/res"
note "rep movsb x$N: $i1 retired instances, $l1 loads, $s1 stores"
note "rep stosq x100: $i2 instance(s), $s2 stores; rep movsb x0: $i3 instance(s), $a3 accesses"
[ "$l1" = "$N" ] && [ "$s1" = "$N" ] || fail "rep movsb accesses $l1/$s1 != $N"
# The copy may migrate between cores (the files are read core by core), so
# compare the sets: every byte of src and dst exactly once.
exact_range() { # FILE BASE
  python3 -c 'import sys; a=sorted(int(x,16) for x in open(sys.argv[1])); b=int(sys.argv[2], 0); n=int(sys.argv[3]); sys.exit(0 if a==list(range(b,b+n)) else f"{len(a)} addresses, {len(set(a))} distinct, span {hex(a[0]) if a else None}..{hex(a[-1]) if a else None}")' "$1" "$2" "$N"
}
err=$(exact_range "$T/loads" "$src" 2>&1) || fail "rep movsb loads are not exactly src..src+$N-1: $err"
err=$(exact_range "$T/stores" "$dst" 2>&1) || fail "rep movsb stores are not exactly dst..dst+$N-1: $err"
# Each QEMU pass is at most 65535 iterations (131070 accesses, so at most 3
# instances); an interrupt may come between passes.
min=$(( (2 * N + 65533) / 65534 ))
max=$(( 3 * ((N + 65534) / 65535) ))
[ "$i1" -ge "$min" ] && [ "$i1" -le "$max" ] || fail "rep movsb counted $i1 times (rule: $min..$max)"
[ "$i2" = 1 ] && [ "$s2" = 100 ] && [ "$l2" = 0 ] || fail "rep stosq: $i2 instances, $s2 stores, $l2 loads"
[ "$i3" = 1 ] && [ "$a3" = 0 ] || fail "rep movsb with rcx=0: $i3 instances, $a3 accesses"
grep -aq 'count_check total .* match' "$T/log.err" || fail "count_check: $(cat "$T/log.err")"
echo "PASS plugin_rep: $i1 instances for $((2 * N)) accesses"
