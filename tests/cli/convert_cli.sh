#!/bin/bash
# qemutrace convert and dump on a checked-in two-core binary trace
# (tests/golden/convert/tiny_<k>): outputs per core, text == dump, din has one
# fetch per instruction, --from/--count slice the dump, and bad input (unknown
# format, unwritable output, corrupt trace) gives one line on stderr and a
# non-zero exit. Env: QEMUTRACE_BUILD, QEMUTRACE_SRC.
set -u
Q="${QEMUTRACE_BUILD:?}/bin/qemutrace"
SRC="${QEMUTRACE_SRC:?}"
IN="$SRC/tests/golden/convert/tiny"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/cli_lib.sh"
quiet() { "$@" >/dev/null; }

for fmt in tejas champsim champsim-gz din text; do
  check "convert --to $fmt" quiet "$Q" convert --to "$fmt" "$IN" -o "$T/$fmt"
done
check "tejas files" test -s "$T/tejas_0" -a -s "$T/tejas_1"
check "champsim files" test -s "$T/champsim_0.champsimtrace.xz" -a -s "$T/champsim_1.champsimtrace.xz"
check "din files" test -s "$T/din_0.din" -a -s "$T/din_1.din"
check "text files" test -s "$T/text_0.txt" -a -s "$T/text_1.txt"
# 'file' is the legacy name of the Tejas format; a per-core file works as input.
check "convert --to file" quiet "$Q" convert --to file "${IN}_1" -o "$T/legacy"
check "file == tejas" cmp -s "$T/legacy_1" "$T/tejas_1"

for k in 0 1; do
  "$Q" dump "${IN}_$k" >"$T/dump_$k" 2>"$T/dump_err"
  check "dump core $k" test -s "$T/dump_$k"
  check "text == dump (core $k)" cmp -s "$T/text_$k.txt" "$T/dump_$k"
  n=$(grep -c '^[0-9]' "$T/dump_$k")
  check "din fetches == instructions (core $k: $n)" test "$(grep -c '^2 ' "$T/din_$k.din")" -eq "$n"
  check "tejas asm lines == instructions (core $k)" test "$(grep -c '^-\?[0-9]* 27 ' "$T/tejas_$k")" -eq "$n"
  if command -v xz >/dev/null; then
    bytes=$(xz -dc "$T/champsim_$k.champsimtrace.xz" | wc -c)
    check "champsim records == instructions (core $k)" test "$bytes" -eq $((64 * n))
    check "champsim-gz holds the records of champsim (core $k)" \
      cmp -s <(gzip -dc "$T/champsim-gz_$k.champsimtrace.gz") <(xz -dc "$T/champsim_$k.champsimtrace.xz")
  fi
done
# --from/--count: the instruction lines of a slice are those of the full dump.
grep '^[0-9]' "$T/dump_0" | sed -n '11,15p' >"$T/want"
"$Q" dump "${IN}_0" --from 10 --count 5 | grep '^[0-9]' >"$T/got"
check "dump --from 10 --count 5" cmp -s "$T/want" "$T/got"
check "dump --count 5 has 5 instructions" test "$("$Q" dump "${IN}_0" --count 5 | grep -c '^[0-9]')" -eq 5

one_line_error "unknown format" "$Q" convert --to pin "$IN" -o "$T/x"
one_line_error "binary is not a target" "$Q" convert --to binary "$IN" -o "$T/x"
one_line_error "unwritable output" "$Q" convert --to din "$IN" -o /nonexistent-dir/out
one_line_error "missing input" "$Q" convert --to din "$T/no-such-trace" -o "$T/x"
head -c 100 /dev/urandom >"$T/garbage_0"
one_line_error "garbage input" "$Q" convert --to text "$T/garbage_0" -o "$T/g"
one_line_error "dump garbage" "$Q" dump "$T/garbage_0"
# Corrupt chunk payload: flip bytes in the middle of the first chunk.
cp "${IN}_0" "$T/bad_0"
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/bad_0" bs=1 seek=140 conv=notrunc 2>/dev/null
"$Q" convert --to din "$T/bad_0" -o "$T/bad" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ]; then
  check "corrupt chunk: one-line error" test "$(wc -l <"$T/err")" -eq 1
  check "corrupt chunk: no partial output" test ! -e "$T/bad_0.din"
else
  # A reader may instead drop the damaged tail with a warning; then it must say so.
  check "corrupt chunk: warned" grep -q warning "$T/err"
fi

# An output that is an input is refused before anything is opened for
# writing: `-o t` on t_0 used to truncate t_0, then fail to read it.
mkdir "$T/same"
cp "${IN}_0" "$T/same/t_0"; cp "${IN}_1" "$T/same/t_1"
sums() { md5sum "$T/same/t_0" "$T/same/t_1"; }
before=$(sums)
one_line_error "output base = input base (tejas)" "$Q" convert --to tejas "$T/same/t" -o "$T/same/t"
one_line_error "output base = input file's base" "$Q" convert --to file "$T/same/t_0" -o "$T/same/t"
ln -s t_1 "$T/same/link_1"
one_line_error "output is a symlink to an input" "$Q" convert --to tejas "$T/same/t_1" -o "$T/same/link"
ln "$T/same/t_0" "$T/same/hard_0"
one_line_error "output is a hard link of an input" "$Q" convert --to tejas "$T/same/t" -o "$T/same/hard"
check "the inputs are untouched" test "$(sums)" = "$before"
grep -q 'is an input' "$T/err" && echo "ok   message: $(cat "$T/err")" || { echo "FAIL message: $(cat "$T/err")"; fails=$((fails + 1)); }

[ $fails -eq 0 ] && echo PASS || { echo "$fails FAILED"; exit 1; }
