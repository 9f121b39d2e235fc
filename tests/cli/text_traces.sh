#!/usr/bin/env bash
# stats, verify and dump given a trace in a simulator format (legacy
# mode=file writes Tejas text): they say what the file is instead of "bad
# magic" / "DAMAGED", and stats counts it. The files come from `convert` of
# the golden binary trace; the oracle is stats of that binary trace (the
# binary reader, not the text scanner) and awk counts of the text lines.
source "$(dirname "$0")/launcher_cli_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
golden=$src/tests/golden/format/tiny.qtr
field() { python3 -c 'import json,sys; d=json.load(sys.stdin)["total"]; print(d[sys.argv[1]])' "$1"; }

ref=$("$qt" stats --json "$golden") || { echo "FAIL: stats on the golden binary trace" >&2; exit 1; }
want_i=$(field instructions <<<"$ref") want_l=$(field loads <<<"$ref") want_s=$(field stores <<<"$ref")
want_pcs=$(field distinct_pcs <<<"$ref")
[ "$want_i" -gt 0 ] || { echo "FAIL: golden trace has no instructions" >&2; exit 1; }

# fmt NAME FILE-SUFFIX DESCRIPTION: convert, then stats / verify / dump.
check() {
  local f=$1 suffix=$2 what=$3 file out err rc
  mkdir -p "$tmp/$f"
  "$qt" convert --to "$f" "$golden" -o "$tmp/$f/t" >/dev/null 2>&1 || { fail "$f: convert failed"; return; }
  file=$(ls "$tmp/$f"/t_*"$suffix" | head -n1)
  [ -s "$file" ] || { fail "$f: no output file"; return; }
  out=$("$qt" stats --json "$file" 2>"$tmp/$f/stats.err"); rc=$?
  if [ $rc -ne 0 ]; then fail "$f: stats exit $rc: $(cat "$tmp/$f/stats.err")"; else
    [ "$(field instructions <<<"$out")" = "$want_i" ] && ok "$f: stats counts $want_i instructions" ||
      fail "$f: stats counts $(field instructions <<<"$out") instructions, the binary trace holds $want_i"
    [ "$(field complete <<<"$out")" = True ] && ok "$f: complete" || fail "$f: not complete: $(cat "$tmp/$f/stats.err")"
    if [[ $f != champsim* ]]; then  # ChampSim keeps at most 4 loads and 2 stores per instruction
      [ "$(field loads <<<"$out")/$(field stores <<<"$out")" = "$want_l/$want_s" ] && ok "$f: $want_l loads, $want_s stores" ||
        fail "$f: loads/stores $(field loads <<<"$out")/$(field stores <<<"$out"), want $want_l/$want_s"
    fi
    [ "$(field distinct_pcs <<<"$out")" = "$want_pcs" ] && ok "$f: $want_pcs distinct PCs" ||
      fail "$f: $(field distinct_pcs <<<"$out") distinct PCs, want $want_pcs"
    grep -q "$what" "$tmp/$f/stats.err" && ok "$f: stats notes '$what'" || fail "$f: stats does not say '$what'"
  fi
  out=$("$qt" verify "$file" 2>&1); rc=$?
  [ $rc -ne 0 ] && ok "$f: verify exit $rc" || fail "$f: verify exit 0 without checking anything"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$f: verify printed more than one line: $out"
  [[ $out == *"$what"* && $out != *DAMAGED* && $out != *"bad magic"* ]] && ok "$f: verify: $out" ||
    fail "$f: verify says: $out"
  err=$("$qt" dump "$file" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "qemutrace: "*"$what"* && $err != *"bad magic"* ]] &&
    ok "$f: dump: $err" || fail "$f: dump exit $rc: $err"
}
check tejas "" "a Tejas text trace"
check tejas-gz ".gz" "a gzip'd Tejas text trace"
check din ".din" "a Dinero IV din trace"
check text ".txt" "a readable text trace"
check champsim ".champsimtrace.xz" "a ChampSim trace"
check champsim-gz ".champsimtrace.gz" "a gzip'd ChampSim trace"

# Independent counts from the text itself.
tj=$(ls "$tmp/tejas"/t_* | head -n1)
n=$(awk '$2 == 27' "$tj" | wc -l)
[ "$n" = "$want_i" ] && ok "tejas: $n assembly lines" || fail "tejas: $n assembly lines, want $want_i"
# The text format has the kernel/user split; Tejas has none (null, '-').
tx=$(ls "$tmp/text"/t_*.txt | head -n1)
k=$(awk '$4 == "K"' "$tx" | wc -l)
[ "$("$qt" stats --json "$tx" 2>/dev/null | field kernel_instructions)" = "$k" ] && ok "text: $k kernel instructions" ||
  fail "text: kernel instructions differ from the K lines ($k)"
[ "$("$qt" stats --json "$tj" 2>/dev/null | field kernel_instructions)" = None ] && ok "tejas: no kernel/user split claimed" ||
  fail "tejas: stats claims a kernel/user split"

# A run base with a manifest, as a mode=file run leaves it.
printf '{"files": [{"core": 0, "path": "%s"}]}\n' "$(basename "$tj")" >"$tmp/tejas/t.json"
out=$("$qt" stats "$tmp/tejas/t" 2>/dev/null) && grep -Eq "^ +total +$want_i " <<<"$out" && ok "stats BASE of a Tejas run" ||
  fail "stats BASE of a Tejas run: $out"
out=$("$qt" verify "$tmp/tejas/t" 2>&1); [[ $out == *"a Tejas text trace"* ]] && ok "verify BASE of a Tejas run" ||
  fail "verify BASE: $out"

# Unfinished: no end-of-stream line (a killed run), and a cut last line.
head -n -1 "$tj" >"$tmp/cut_0"
out=$("$qt" stats --json "$tmp/cut_0" 2>"$tmp/cut.err")
[ "$(field complete <<<"$out")" = False ] && grep -q "end-of-stream" "$tmp/cut.err" && ok "tejas without its end line: incomplete" ||
  fail "tejas without its end line: $(cat "$tmp/cut.err")"
head -c -3 "$tj" >"$tmp/cut2_0"
out=$("$qt" stats --json "$tmp/cut2_0" 2>"$tmp/cut2.err")
[ "$(field complete <<<"$out")" = False ] && grep -q "cut short" "$tmp/cut2.err" && ok "tejas with a cut last line: incomplete" ||
  fail "tejas with a cut last line: $(cat "$tmp/cut2.err")"
# champsim-gz without its gzip trailer (8 bytes: CRC and size), as a killed run leaves it.
gz=$(ls "$tmp/champsim-gz"/t_*.champsimtrace.gz | head -n1)
head -c -8 "$gz" >"$tmp/cut3_0.champsimtrace.gz"
out=$("$qt" stats --json "$tmp/cut3_0.champsimtrace.gz" 2>"$tmp/cut3.err")
[ "$(field complete <<<"$out")" = False ] && grep -q "cut short" "$tmp/cut3.err" && ok "champsim-gz without its trailer: incomplete" ||
  fail "champsim-gz without its trailer: $(cat "$tmp/cut3.err")"
# tejas-gz without its gzip trailer: every line is there, but the file was not finished.
tgz=$(ls "$tmp/tejas-gz"/t_*.gz | head -n1)
head -c -8 "$tgz" >"$tmp/cut4_0.gz"
out=$("$qt" stats --json "$tmp/cut4_0.gz" 2>"$tmp/cut4.err")
[ "$(field complete <<<"$out")" = False ] && grep -q "cut short" "$tmp/cut4.err" && ok "tejas-gz without its trailer: incomplete" ||
  fail "tejas-gz without its trailer: $(cat "$tmp/cut4.err")"
# Still refused: a file that is neither (the binary reader's one line).
echo "hello world" >"$tmp/hello"
out=$("$qt" verify "$tmp/hello" 2>&1); [[ $out == *"not a qemutrace file"* ]] && ok "plain text file: not a qemutrace file" || fail "plain text: $out"
# A gzip'd file that holds no ChampSim records (is_branch 2) is not taken for one.
printf '\002%.0s' $(seq 200) | gzip -c >"$tmp/other.gz"
out=$("$qt" verify "$tmp/other.gz" 2>&1); [[ $out == *"not a qemutrace file"* ]] && ok "gzip'd non-trace: not a qemutrace file" ||
  fail "gzip'd non-trace: $out"

[ $fails -eq 0 ] && echo "PASS text_traces" || { echo "$fails failure(s)" >&2; exit 1; }
