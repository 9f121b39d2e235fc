#!/usr/bin/env bash
# Command lines that do not parse: one plain line naming the option and what
# it expects (not CLI11's "Could not convert: --smp = abc" or "files is
# required"), exit status 1 like every other error. No guest boots.
source "$(dirname "$0")/launcher_cli_lib.sh"
[ -x "$qt" ] && [ -x "$legacy" ] || { echo "FAIL: $qt or $legacy missing" >&2; exit 1; }

# expect WANT CMD...: exit 1, exactly one stderr line "qemutrace: ..." containing WANT.
expect() {
  local want=$1; shift
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null </dev/null); rc=$?
  if [ $rc -ne 1 ]; then fail "exit $rc (want 1) for: $* -> $err"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || [[ $err != qemutrace:* ]]; then
    fail "not one 'qemutrace:' line for: $* -> $(printf '%q' "$err")"; return; fi
  if [[ $err != *"$want"* ]]; then fail "'$err' does not mention '$want' ($*)"; return; fi
  for jargon in "Could not convert" "is required" "required but received" "not expected" "Run with --help"; do
    [[ $err == *"$jargon"* ]] && { fail "CLI11 wording '$jargon' in: $err"; return; }
  done
  echo "ok: $err"
}

expect "bad --smp value 'abc': expected a whole number" "$qt" run --smp abc
expect "bad --timeout-ms value 'soon'" "$qt" ctl "$tmp/x" status --timeout-ms soon
expect "qemutrace stats needs trace files, a run base or a manifest BASE.json" "$qt" stats
expect "qemutrace verify needs trace files" "$qt" verify
expect "qemutrace dump needs a per-core trace file" "$qt" dump
expect "qemutrace convert needs --output" "$qt" convert --to tejas "$tmp/in"
expect "qemutrace convert needs --to" "$qt" convert -o "$tmp/out" "$tmp/in"
expect "--trace needs a value" "$qt" run --trace
expect "unknown option --bogus for qemutrace run" "$qt" run --bogus
expect "unknown command 'bogus'" "$qt" bogus
expect "no command given" "$qt"
# dump --from/--count: a negative index used to wrap around to 2^64-1.
expect "bad --from value '-1': expected a count, 0 or more" "$qt" dump "$QEMUTRACE_SRC/tests/golden/format/tiny.qtr" --from -1
expect "bad --count value '-5'" "$qt" dump "$QEMUTRACE_SRC/tests/golden/format/tiny.qtr" --count -5
out=$("$qt" dump "$QEMUTRACE_SRC/tests/golden/format/tiny.qtr" --from 56 --count 1 2>&1) &&
  [ "$(grep -c '^0 56 ' <<<"$out")" = 1 ] && ok "dump --from 56 --count 1 still prints instruction 56" ||
  fail "dump --from 56 --count 1: $out"
# The legacy front end: --monitor without a value (QEMU's char-driver message before).
expect "--monitor needs a value: stdio" "$legacy" -q_trace mode=binary,file="$tmp/t" --monitor
expect "-monitor needs a value" "$legacy" -monitor -nographic

[ $fails -eq 0 ] && echo "PASS cli_messages" || { echo "$fails failure(s)" >&2; exit 1; }
