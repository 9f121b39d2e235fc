#!/usr/bin/env bash
# Under run's virtual clock (-icount shift=0,sleep=off: single-threaded TCG,
# every vCPU run in turn by one host thread; -rtc clock=vm: without it the
# kernel spins on the host-timed RTC update flag at boot, and -smp 2 runs
# diverge) a guest that reads no outside input is traced identically twice:
# the same per-core counts and the same decoded instruction and address
# streams, for -smp 1 and -smp 2, binary and text. The marked loop's ROI holds
# exactly 1+4N user instructions, on the vCPU that ran it (qt-pinned pins its
# loop to CPU 1, so with -smp 2 the blocks run on vCPU 1 whichever vCPU
# translated them).
source "$(dirname "$0")/plugin_lib.sh"
N=100000
mapfile -t ICOUNT < <(guest_clock_args "$QT" x86_64 virtual)
[ "${#ICOUNT[@]}" -ge 2 ] || fail "no virtual-clock options from qemutrace guest qemu-args"

# roi_in_text FILE LO HI: user instructions with LO <= pc < HI in a text-format
# trace (the lines of `qemutrace dump`).
roi_in_text() {
  awk -v lo="$2" -v hi="$3" '
    function h(s,   i, c, v) {
      v = 0; s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v
    }
    BEGIN { l = h(lo); u = h(hi) }
    $1 ~ /^[0-9]+$/ && NF >= 4 { pc = h($3); if ($4 == "U" && pc >= l && pc < u) n++ }
    END { print n + 0 }' "$1"
}

# fingerprint BASE FORMAT CORE: what must not change between two runs.
fingerprint() {
  if [ "$2" = binary ]; then
    "$QT" stats --json "$1" | python3 -c '
import json, sys
c = json.load(sys.stdin)["cores"][int(sys.argv[1])]
print(" ".join(f"{k}={c[k]}" for k in sorted(c) if "bytes" not in k))' "$3"
    "$QT" dump "$1_$3" | sha256sum | cut -d" " -f1
  else
    sha256sum <"$1_$3.txt" | cut -d" " -f1
  fi
}

# check PROG SMP FORMAT CORE: two runs, identical per core; exact ROI on CORE.
check() {
  local prog=$1 smp=$2 fmt=$3 core=$4 r k name=$1.smp$2.$3
  [ -f "$T/initrd.$prog" ] || make_initrd x86_64 "$T/initrd.$prog" "$prog" "$N"
  for r in 1 2; do
    boot x86_64 "$T/initrd.$prog" "$T/log.$name.$r" "base=$T/$name.$r,format=$fmt" \
      -smp "$smp" "${ICOUNT[@]}" || fail "$name run $r: qemu exit $?"
    guest_ok "$T/log.$name.$r"
  done
  local lo hi want got
  lo=$(field "$T/log.$name.1" "$prog" roi_pc_begin)
  hi=$(field "$T/log.$name.1" "$prog" roi_pc_end)
  want=$(field "$T/log.$name.1" "$prog" expected_insns)
  if [ "$fmt" = binary ]; then got=$(count_range "$T/$name.1_$core" "$lo" "$hi" U)
  else got=$(roi_in_text "$T/$name.1_$core.txt" "$lo" "$hi"); fi
  note "$name: ROI on core $core: $got user instructions (expected $want)"
  [ "$got" = "$want" ] || fail "$name: ROI count $got != $want"
  for ((k = 0; k < smp; k++)); do
    local a b
    a=$(fingerprint "$T/$name.1" "$fmt" "$k")
    b=$(fingerprint "$T/$name.2" "$fmt" "$k")
    note "$name core $k: $(echo "$a" | tr '\n' ' ')"
    [ "$a" = "$b" ] || fail "$name core $k differs between two runs: [$a] vs [$b]"
  done
  ! grep -q 'discontinuity exception' <(if [ "$fmt" = binary ]; then "$QT" dump "$T/$name.1"; else cat "$T/$name.1"_*.txt; fi) ||
    fail "$name: discontinuity exception in a loop that faults nowhere"
}

check qt-pinned 2 text 1
check qt-loop 1 binary 0
check qt-pinned 2 binary 1
echo "PASS plugin_icount: identical traces twice, exact ROI, -smp 1 and 2, binary and text"
