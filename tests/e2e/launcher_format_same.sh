#!/usr/bin/env bash
# Every output format records the same: the guest runs at the binary format's
# speed whatever the format, so a text format does not fill the trace with
# timer and idle code. qt-loop N (-smp 2, host clock) traced as binary and as
# text: both hold exactly the program's 1+4N user instructions (the count it
# prints), and their kernel shares differ by at most 10 percentage points.
# (Written on the vCPU thread, text ran the guest 50-100x slower: 30-60%
# kernel against a few percent. With the host clock the share also moves with
# host load, by several points between two runs on a busy machine; the 2-point
# target is measured by bench/formats.sh.) The text run delivers BASE_<k>.txt only: no
# recording is left behind and the manifest names the text files.
# Under the virtual clock the format cannot change anything at all: the text
# a --format text run writes equals `convert --to text` of a binary run, byte
# for byte, with a loop long enough to hold a timer tick (4N > 4M). So do
# the basic-block vectors a --format bbv run writes (plugin option
# bbv_interval) and `convert --to bbv --interval` of the binary run.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
n=2000000

"$qt" run --quiet --smp 2 --program qt-loop --args $n --format binary --trace "$tmp/bin" >"$tmp/bin.out" 2>"$tmp/bin.err" ||
  fail "binary run: $(tail -n1 "$tmp/bin.err")"
"$qt" run --quiet --smp 2 --program qt-loop --args $n --format text --trace "$tmp/txt" >"$tmp/txt.out" 2>"$tmp/txt.err" ||
  fail "text run: $(tail -n1 "$tmp/txt.err")"
want=$(sed -n 's/.*expected_insns=\([0-9]*\).*/\1/p' "$tmp/bin.out" | tr -d '\r' | head -n1)
[ -n "$want" ] || fail "qt-loop printed no expected_insns"

read -r bu bk < <("$qt" stats --json "$tmp/bin" | python3 -c '
import json, sys; t = json.load(sys.stdin)["total"]; print(t["user_instructions"], t["kernel_instructions"])')
# The text files are counted as text: one line per instruction, U or K.
read -r tu tk < <(cat "$tmp"/txt_*.txt | awk '$1 ~ /^[0-9]+$/ && $3 ~ /^0x/ { if ($4 == "U") u++; else if ($4 == "K") k++ }
  END { print u+0, k+0 }')
share() { python3 -c 'import sys; u, k = int(sys.argv[1]), int(sys.argv[2]); print("%.2f" % (100.0 * k / max(1, u + k)))' "$1" "$2"; }
bs=$(share "$bu" "$bk"); ts=$(share "$tu" "$tk")
echo "binary: $bu user, $bk kernel ($bs%); text: $tu user, $tk kernel ($ts%)"
[ "$bu" = "$want" ] && ok "binary: user instructions = expected_insns = $want" || fail "binary: user $bu != expected $want"
[ "$tu" = "$want" ] && ok "text: user instructions = expected_insns = $want" || fail "text: user $tu != expected $want"
python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 10.0 else 1)' "$bs" "$ts" &&
  ok "kernel share text $ts% within 10 points of binary $bs%" || fail "kernel share text $ts% vs binary $bs%: the format changed the guest"

ls "$tmp"/txt_*.qtr >/dev/null 2>&1 && fail "recordings left behind: $(ls "$tmp"/txt_*.qtr)" || ok "no recording left behind"
problems=$(python3 -c '
import json, os, sys
m = json.load(open(sys.argv[1])); d = os.path.dirname(sys.argv[1]); bad = []
if m.get("format") != "text": bad.append("format %r" % m.get("format"))
if not m.get("complete"): bad.append("not complete")
if "files_format" in m: bad.append("files_format still set")
for f in m["files"]:
    if not f["path"].endswith(".txt") or not os.path.isfile(os.path.join(d, f["path"])): bad.append("file " + f["path"])
    elif os.path.getsize(os.path.join(d, f["path"])) != f["bytes"]: bad.append("bytes of " + f["path"])
print("; ".join(bad) or "none")' "$tmp/txt.json")
[ "$problems" = none ] && ok "manifest: format text, complete, names the .txt files" || fail "manifest: $problems"

vn=1100000
bbv_interval=1000000
for f in binary text bbv; do
  opts=(); [ $f = bbv ] && opts=(--plugin-opt bbv_interval=$bbv_interval)
  "$qt" run --quiet --smp 2 --clock virtual --program qt-loop --args $vn --format $f --trace "$tmp/v$f" \
    "${opts[@]}" >"$tmp/v$f.out" 2>"$tmp/v$f.err" ||
    fail "virtual-clock $f run: $(tail -n1 "$tmp/v$f.err")"
done
"$qt" convert --to text "$tmp/vbinary" -o "$tmp/vconv" >/dev/null 2>"$tmp/vconv.err" || fail "convert: $(tail -n1 "$tmp/vconv.err")"
vk=$("$qt" stats --json "$tmp/vbinary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["kernel_instructions"])')
[ "${vk:-0}" -gt 0 ] && ok "virtual clock: the ROI holds kernel code ($vk instructions)" ||
  fail "virtual clock: no kernel code in the ROI, so the comparison checks no interrupt"
for c in 0 1; do
  if [ -f "$tmp/vtext_$c.txt" ] && cmp -s "$tmp/vconv_$c.txt" "$tmp/vtext_$c.txt"; then
    ok "virtual clock core $c: --format text = convert --to text of --format binary"
  else
    fail "virtual clock core $c: --format text differs from the converted binary run"
  fi
done

"$qt" convert --to bbv --interval $bbv_interval "$tmp/vbinary" -o "$tmp/vbbvconv" >/dev/null 2>"$tmp/vbbvconv.err" ||
  fail "convert --to bbv: $(tail -n1 "$tmp/vbbvconv.err")"
for c in 0 1; do
  run_bb=$tmp/vbbv_$c.bb conv_bb=$tmp/vbbvconv_$c.bb
  # The loop alone is 4 x 1.1M instructions on one core: at least 4 vectors there.
  [ -f "$run_bb" ] && vectors=$(wc -l <"$run_bb") || vectors=0
  if [ -f "$run_bb" ] && cmp -s "$conv_bb" "$run_bb"; then
    ok "virtual clock core $c: --format bbv = convert --to bbv of --format binary ($vectors vectors)"
  else
    fail "virtual clock core $c: --format bbv ($run_bb, $vectors vectors) differs from convert --to bbv"
  fi
done
total_vectors=$(cat "$tmp"/vbbv_*.bb | wc -l)
[ "$total_vectors" -ge 4 ] && ok "bbv: $total_vectors vectors of $bbv_interval instructions" ||
  fail "bbv: only $total_vectors vectors of $bbv_interval instructions (the loop alone is 4.4M)"

[ $fails -eq 0 ] && echo "PASS launcher_format_same" || { echo "$fails failure(s)" >&2; exit 1; }
