#!/usr/bin/env bash
# Direct output in each simulator format equals conversion from the binary
# trace of the same run. QEMU's record/replay makes the runs identical: the
# guest (qt-syscall: user and kernel code, loads and stores) is recorded once
# with a binary trace, then replayed once per format with that format written
# directly by the plugin. Record/replay needs -smp 1 (-icount turns MTTCG off).
set -euo pipefail
B=${QEMUTRACE_BUILD:?}; S=${QEMUTRACE_SRC:?}
Q="$B/bin/qemutrace"; P="$B/lib/libqemutrace.so"
T=$(mktemp -d); [ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$S/tests/wait_lib.sh"
source "$S/tests/e2e/guest_lib.sh"

G=$(bash "$S/guest/build-image.sh" --arch x86_64 | tail -n1)
A=$(guest_append "$Q" x86_64) || fail "no kernel command line for the guest"
bash "$S/guest/add-workload.sh" "$T/extra.cpio" "$G/programs/qt-syscall" 300
cat "$G/initrd.img" "$T/extra.cpio" > "$T/initrd"

boot() { # MODE BASE FORMAT
  timeout "$QT_DEADLINE" qemu-system-x86_64 -smp 1 -m 512M -kernel "$G/vmlinuz" -initrd "$T/initrd" \
    -append "$A" -nographic -no-reboot -nic none \
    -icount shift=auto,rr="$1",rrfile="$T/replay.bin" \
    -plugin "$P,base=$T/$2,format=$3" > "$T/$2.console" 2>&1 || fail "QEMU ($1, $3) failed: $(tail -3 "$T/$2.console")"
  grep -q "qemutrace-guest: exit 0" "$T/$2.console" || fail "guest did not finish ($1, $3)"
}

boot record bin binary
"$Q" verify "$T/bin" >/dev/null || fail "binary trace does not verify"
n=$("$Q" stats --json "$T/bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])')
k=$("$Q" stats --json "$T/bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["kernel_instructions"])')
[ "$n" -gt 10000 ] && [ "$k" -gt 1000 ] || fail "ROI too small to mean anything: $n instructions, $k kernel"

for f in tejas champsim din text; do
  boot replay "direct-$f" "$f"
  "$Q" convert --to "$f" "$T/bin" -o "$T/conv-$f" >/dev/null
  case $f in
    tejas) a="$T/direct-tejas_0"; b="$T/conv-tejas_0"; count() { grep -c '^[-0-9]* 27 ' "$1"; } ;;
    champsim) a="$T/direct-champsim_0.champsimtrace.xz"; b="$T/conv-champsim_0.champsimtrace.xz"
              count() { echo $(( $(xz -dc "$1" | wc -c) / 64 )); } ;;
    din) a="$T/direct-din_0.din"; b="$T/conv-din_0.din"; count() { grep -c '^2 ' "$1"; } ;;
    text) a="$T/direct-text_0.txt"; b="$T/conv-text_0.txt"; count() { grep -c '^0 ' "$1"; } ;;
  esac
  cmp -s "$a" "$b" || fail "$f: direct output differs from converted ($(cmp "$a" "$b" 2>&1 | head -1))"
  c=$(count "$a")
  [ "$c" = "$n" ] || fail "$f: $c instructions, binary trace has $n"
  echo "ok: $f direct == converted, $c instructions"
done
echo "convert_replay: ok ($n instructions, $k in the kernel)"
