#!/usr/bin/env bash
# Guest programs, marker header and qemutrace-guest-run, natively (no QEMU).
# Oracles: the programs' own structure (printed), the compiled bytes, and
# valgrind lackey as an independent instruction/load counter.
set -uo pipefail
src=${QEMUTRACE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/qt-guest-programs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
field() { # field LINE KEY -> value of KEY=value in LINE
  printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

bash "$src/guest/build-programs.sh" --arch x86_64 "$tmp/b64" || { echo "FAIL: building x86_64 guest programs" >&2; exit 1; }
b=$tmp/b64

# --- qt-loop output and structure -------------------------------------------
out=$("$b/qt-loop" 1000) || fail "qt-loop 1000 exited $?"
line=$(printf '%s\n' "$out" | grep '^qt-loop: ')
if [[ $line =~ ^qt-loop:\ id=1\ n=1000\ roi_pc_begin=0x[0-9a-f]+\ roi_pc_end=0x[0-9a-f]+\ expected_insns=4001\  ]]; then
  ok "qt-loop output format"
else
  fail "qt-loop output format: '$line'"
fi
begin=$(field "$line" roi_pc_begin) end=$(field "$line" roi_pc_end)
if [ -n "$begin" ] && [ -n "$end" ] && (( end > begin && end - begin < 64 )); then
  ok "qt-loop ROI range $begin..$end"
else
  fail "qt-loop ROI range '$begin'..'$end'"
fi

# Marker bytes: START right before roi_pc_begin, STOP right at roi_pc_end.
bytes_at() { # bytes_at BIN ADDR LEN -> hex bytes, space separated
  objdump -s --start-address=$(($2)) --stop-address=$(($2 + $3)) "$1" |
    awk '/^ [0-9a-f]+ /{for(i=2;i<=5;i++) if ($i ~ /^[0-9a-f]+$/) printf "%s", $i}' |
    sed 's/../& /g; s/ $//'
}
start_bytes=$(bytes_at "$b/qt-loop" $((begin - 8)) 8)
stop_bytes=$(bytes_at "$b/qt-loop" $((end)) 8)
[ "$start_bytes" = "0f 1f 84 00 01 00 54 51" ] && ok "START marker before roi_pc_begin" ||
  fail "bytes before roi_pc_begin are '$start_bytes', want START(1) 0f 1f 84 00 01 00 54 51"
[ "$stop_bytes" = "0f 1f 84 40 01 00 54 51" ] && ok "STOP marker at roi_pc_end" ||
  fail "bytes at roi_pc_end are '$stop_bytes', want STOP(1) 0f 1f 84 40 01 00 54 51"
# Exactly one START(1)/STOP(1) marker in the whole binary.
hex=$(od -An -v -tx1 "$b/qt-loop" | tr -d '\n' | tr -s ' ')
n_start=$(grep -o '0f 1f 84 00 01 00 54 51' <<<"$hex" | wc -l)
n_stop=$(grep -o '0f 1f 84 40 01 00 54 51' <<<"$hex" | wc -l)
[ "$n_start" = 1 ] && [ "$n_stop" = 1 ] && ok "one START(1) and one STOP(1) in qt-loop" ||
  fail "qt-loop has $n_start START(1) and $n_stop STOP(1) markers, want 1 each"
# The ROI body decodes to the documented 5 instructions.
body=$(objdump -d --no-show-raw-insn --start-address=$((begin)) --stop-address=$((end)) "$b/qt-loop" |
  awk -F'\t' '/^ *[0-9a-f]+:/{split($2,a," "); printf "%s ", a[1]}')
[ "$body" = "mov add xor dec jne " ] && ok "qt-loop body: $body" || fail "qt-loop body is '$body', want 'mov add xor dec jne'"

# --- independent count with valgrind lackey -----------------------------------
if command -v valgrind >/dev/null; then
  # mawk has no strtonum.
  hexfn='function hex(s,  i,v) { v=0; s=tolower(s); for (i=1;i<=length(s);i++) v=v*16+index("0123456789abcdef",substr(s,i,1))-1; return v }
'
  # lackey prints "I  addr,size" per executed guest instruction.
  lk=$(valgrind --tool=lackey --trace-mem=yes --log-file="$tmp/lackey.log" "$b/qt-loop" 1000) ||
    fail "qt-loop under valgrind"
  vline=$(printf '%s\n' "$lk" | grep '^qt-loop: ')
  vb=$(field "$vline" roi_pc_begin) ve=$(field "$vline" roi_pc_end) vx=$(field "$vline" expected_insns)
  cnt=$(awk -v b=$((vb)) -v e=$((ve)) "$hexfn"'$1=="I" {split($2,a,","); x=hex(a[1]); if (x>=b && x<e) n++} END{print n+0}' "$tmp/lackey.log")
  [ "$cnt" = "$vx" ] && ok "valgrind counts $cnt instructions in qt-loop ROI" ||
    fail "valgrind counts $cnt instructions in qt-loop ROI, program expects $vx"

  lk=$(valgrind --tool=lackey --trace-mem=yes --log-file="$tmp/lackey2.log" "$b/qt-stride" 100 192) ||
    fail "qt-stride under valgrind"
  sline=$(printf '%s\n' "$lk" | grep '^qt-stride: id=')
  sb=$(field "$sline" roi_pc_begin) se=$(field "$sline" roi_pc_end)
  printf '%s\n' "$lk" | sed -n 's/^qt-stride: load 0x//p' | sort >"$tmp/want"
  # Data addresses of loads issued by instructions inside the ROI range.
  awk -v b=$((sb)) -v e=$((se)) "$hexfn"'
    $1=="I" {split($2,a,","); x=hex(a[1]); in_roi=(x>=b && x<e); next}
    in_roi && ($1=="L" || $1=="S" || $1=="M") {split($2,a,","); sub(/^0+/,"",a[1]); print $1, a[1], a[2]}' \
    "$tmp/lackey2.log" >"$tmp/got_all"
  sed -n 's/^L \([0-9a-f]*\) 8$/\1/p' "$tmp/got_all" | sort >"$tmp/got"
  if [ "$(wc -l <"$tmp/want")" = 100 ] && cmp -s "$tmp/want" "$tmp/got" && [ "$(wc -l <"$tmp/got_all")" = 100 ]; then
    ok "valgrind sees exactly the 100 printed 8-byte loads in qt-stride ROI"
  else
    fail "qt-stride ROI accesses differ from the printed list (want $(wc -l <"$tmp/want"), got $(wc -l <"$tmp/got_all"))"
  fi
  icnt=$(awk -v b=$((sb)) -v e=$((se)) "$hexfn"'$1=="I" {split($2,a,","); x=hex(a[1]); if (x>=b && x<e) n++} END{print n+0}' "$tmp/lackey2.log")
  [ "$icnt" = "$(field "$sline" expected_insns)" ] && ok "valgrind counts $icnt instructions in qt-stride ROI" ||
    fail "valgrind counts $icnt instructions in qt-stride ROI, program expects $(field "$sline" expected_insns)"
else
  echo "skip: valgrind not installed, no independent instruction count"
fi

# --- the other programs run natively ---------------------------------------------
for cmd in "qt-syscall 10" "qt-stride 8 64" "qt-demo" "qt-bench-compute 1" "qt-bench-chase 1 1" \
           "qt-bench-stream 1" "qt-bench-fileops 50 $tmp"; do
  set -- $cmd
  o=$("$b/$1" "${@:2}" 2>&1) || { fail "$cmd exited $?: $o"; continue; }
  grep -q "^$1: " <<<"$o" || fail "$cmd printed no '$1:' line"
  case $1 in qt-demo|qt-bench-*) grep -q "roi_ns=[0-9]" <<<"$o" || fail "$cmd printed no roi_ns" ;; esac
done
ok "native runs of the other programs"
if [ "$(nproc)" -ge 2 ]; then
  o=$("$b/qt-pinned" 100) && grep -q 'cpu=1 cpu_after=1 ' <<<"$o" && ok "qt-pinned ran on CPU 1" ||
    fail "qt-pinned: '$o'"
fi
"$b/qt-loop" 0 >/dev/null 2>&1 && fail "qt-loop 0 was accepted (would loop 2^32 times)"

# --- legacy markers and qemutrace-guest-run --------------------------------------
( exec "$b/qt-legacy" 10 ) >/dev/null 2>&1
rc=$?
[ $rc = $((128 + 11)) ] && ok "qt-legacy alone dies with SIGSEGV" || fail "qt-legacy alone exited $rc, want 139 (SIGSEGV)"
o=$("$b/qemutrace-guest-run" "$b/qt-legacy" 10)
rc=$?
[ $rc = 0 ] && grep -q '^qt-legacy: n=10 .*expected_insns=41 ' <<<"$o" && ok "qt-legacy under qemutrace-guest-run" ||
  fail "qt-legacy under qemutrace-guest-run: rc=$rc out='$o'"
# Forks + execs are followed: legacy binaries in grandchildren also survive.
o=$(PATH="$b:$PATH" "$b/qemutrace-guest-run" sh -c 'qt-legacy 3 && (qt-legacy 4) && echo both')
[ $? = 0 ] && grep -q '^both$' <<<"$o" && ok "guest-run follows fork/exec" || fail "guest-run fork/exec: '$o'"
"$b/qemutrace-guest-run" sh -c 'exit 7'; rc=$?
[ $rc = 7 ] && ok "guest-run passes exit status" || fail "guest-run exit status $rc, want 7"
"$b/qemutrace-guest-run" sh -c 'kill -TERM $$'; rc=$?
[ $rc = 143 ] && ok "guest-run reports 128+signal" || fail "guest-run after SIGTERM exited $rc, want 143"
# A real SIGSEGV (not at a marker) is still delivered.
"$b/qemutrace-guest-run" sh -c 'kill -SEGV $$'; rc=$?
[ $rc = 139 ] && ok "guest-run delivers a sent SIGSEGV" || fail "guest-run after kill -SEGV exited $rc, want 139"
"$b/qemutrace-guest-run" "$tmp/does-not-exist" 2>/dev/null; rc=$?
[ $rc = 127 ] && ok "guest-run: missing program -> 127" || fail "guest-run on a missing program exited $rc, want 127"
# Group-stop: a stopped tracee must stay stopped until SIGCONT. The tracee
# opens a FIFO, says so, and waits for the test's line, which arrives while
# it is stopped.
source "$src/tests/wait_lib.sh"
mkfifo "$tmp/gs.fifo"
"$b/qemutrace-guest-run" sh -c 'exec 3<>"$1"; echo waiting; read -r x <&3; echo "resumed $x"' sh "$tmp/gs.fifo" \
  >"$tmp/gs.out" &
runner=$!
kid=
stopped() { grep -q -E '^State:.*(T \(stopped\)|t \(tracing stop\))' /proc/"$kid"/status; }
if wait_for "the tracee of qemutrace-guest-run to say 'waiting'" $runner grep -q waiting "$tmp/gs.out"; then
  kid=$(pgrep -P $runner | head -n1)
  [ -n "$kid" ] || fail "group-stop: no child of qemutrace-guest-run found"
fi
if [ -z "$kid" ]; then
  kill $runner 2>/dev/null
else
  kill -STOP "$kid"
  if wait_for "the tracee to stop after SIGSTOP" $runner stopped; then
    echo go >"$tmp/gs.fifo"  # the tracee holds the FIFO open: no wait here
    # A tracee wrongly restarted would now read and print. How long we
    # watch only decides how surely that is caught, never the verdict on a
    # correct run.
    sleep 2
    state=$(awk '{print $3}' /proc/"$kid"/stat 2>/dev/null)
    grep -q resumed "$tmp/gs.out" && fail "group-stop: tracee ran on while stopped (state $state)"
  fi
  kill -CONT "$kid"
  wait_gone $runner "qemutrace-guest-run after SIGCONT"
  wait $runner; rc=$?
  [ $rc = 0 ] && grep -q 'resumed go' "$tmp/gs.out" && ok "group-stop kept (state ${state:-?}) and resumed" ||
    fail "group-stop: rc=$rc out='$(cat "$tmp/gs.out")'"
fi

# --- the header: C++, id range, constant ids -------------------------------------
cat >"$tmp/hdr.cc" <<EOF
#include "$src/guest/qemutrace.h"
int main() { qemutrace_start(65535); qemutrace_stop(65535); qemutrace_start(7); qemutrace_stop(7); return 0; }
EOF
if g++ -O2 -o "$tmp/hdr" "$tmp/hdr.cc" && "$tmp/hdr"; then
  hex=$(od -An -v -tx1 "$tmp/hdr" | tr -d '\n' | tr -s ' ')
  grep -q '0f 1f 84 00 ff ff 54 51' <<<"$hex" && grep -q '0f 1f 84 40 07 00 54 51' <<<"$hex" &&
    ok "header works from C++" || fail "C++ build lacks the expected marker bytes"
else
  fail "header does not build/run from C++"
fi
printf '#include "%s/guest/qemutrace.h"\nint main(void){ qemutrace_start(65536); return 0; }\n' "$src" >"$tmp/bad1.c"
gcc -c -o "$tmp/bad1.o" "$tmp/bad1.c" 2>/dev/null && fail "id 65536 accepted"
printf '#include "%s/guest/qemutrace.h"\nint main(int c, char **v){ (void)v; qemutrace_start(c); return 0; }\n' "$src" >"$tmp/bad2.c"
gcc -O2 -c -o "$tmp/bad2.o" "$tmp/bad2.c" 2>/dev/null && fail "non-constant id accepted"
ok "header rejects bad ids"

# --- i386 build (the guest arch; runs natively when the host kernel has ia32) ------
if command -v i686-linux-gnu-gcc >/dev/null; then
  if bash "$src/guest/build-programs.sh" --arch i386 "$tmp/b32"; then
    file_out=$(od -An -tx1 -j4 -N1 "$tmp/b32/qt-loop" | tr -d ' ')
    [ "$file_out" = 01 ] && ok "i386 programs are ELF32" || fail "i386 qt-loop is not ELF32"
    if o=$("$tmp/b32/qemutrace-guest-run" "$tmp/b32/qt-legacy" 5 2>/dev/null); then
      grep -q 'expected_insns=21 ' <<<"$o" && ok "i386 qt-legacy under i386 guest-run (native ia32)" ||
        fail "i386 qt-legacy output '$o'"
    else
      echo "skip: host cannot run i386 binaries"
    fi
  else
    fail "building i386 guest programs"
  fi
fi

# --- aarch64 build (cross; the structure checked with its objdump) ----------------
if command -v aarch64-linux-gnu-gcc >/dev/null; then
  if bash "$src/guest/build-programs.sh" --arch aarch64 "$tmp/ba"; then
    [ "$(od -An -tx2 -j18 -N2 "$tmp/ba/qt-loop" | tr -d ' ')" = 00b7 ] && ok "aarch64 programs are EM_AARCH64" ||
      fail "aarch64 qt-loop is not an AArch64 ELF"
    [ ! -e "$tmp/ba/qt-legacy" ] && [ ! -e "$tmp/ba/qt-stale" ] && [ -x "$tmp/ba/qemutrace-guest-run" ] &&
      ok "aarch64: x86-only programs skipped, qemutrace-guest-run built" || fail "aarch64 program set: $(ls "$tmp/ba" | tr '\n' ' ')"
    msg=$(bash "$src/guest/build-programs.sh" --arch aarch64 "$tmp/ba2" qt-legacy 2>&1) &&
      fail "qt-legacy built for aarch64" || { [[ $msg == *"not built for aarch64"* ]] && ok "asking for qt-legacy on aarch64: $msg" || fail "qt-legacy on aarch64: '$msg'"; }
    # The marked loop: START, 1 + 4 instructions (mov; add, eor, subs, b.ne), STOP.
    words=$(aarch64-linux-gnu-objdump -d "$tmp/ba/qt-loop" | awk '
      /^[0-9a-f]+ <.*>:$/ { on = $0 ~ /<qt_loop_roi(_begin|_end)?>:/; next } on && /^ +[0-9a-f]+:/ { printf "%s ", $2 }')
    want="d2c0003f [0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8} 54ffffa1 d2e0003f"
    [[ $words =~ $want ]] && ok "aarch64 qt-loop: START, 5 instructions ending in b.ne 1b, STOP" ||
      fail "aarch64 qt-loop words: $words"
  else
    fail "building aarch64 guest programs"
  fi
fi

# --- add-workload.sh ------------------------------------------------------------
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$b/qt-loop" 12 "it's" || fail "add-workload.sh"
list=$(cpio -it --quiet <"$tmp/w.cpio" | sort | tr '\n' ' ')
[ "$list" = "qt qt/run.sh qt/workload " ] && ok "workload cpio lists $list" || fail "workload cpio lists '$list'"
mkdir "$tmp/x" && (cd "$tmp/x" && cpio -id --quiet <"$tmp/w.cpio")
cmp -s "$tmp/x/qt/workload" "$b/qt-loop" || fail "workload cpio: /qt/workload differs from input"
# Run the generated run.sh against a fake guest-run that echoes its argv.
mkdir "$tmp/fake" && printf '#!/bin/sh\nfor a; do printf "[%%s]" "$a"; done; echo\n' >"$tmp/fake/qemutrace-guest-run" &&
  chmod +x "$tmp/fake/qemutrace-guest-run"
argv=$(PATH="$tmp/fake:$PATH" sh "$tmp/x/qt/run.sh")
[ "$argv" = "[/qt/workload][12][it's]" ] && ok "run.sh passes args: $argv" || fail "run.sh argv '$argv'"

if [ $failures -ne 0 ]; then echo "guest_programs: $failures failure(s)" >&2; exit 1; fi
echo "guest_programs: all passed"
