#!/usr/bin/env bash
# convert --to bbv and convert --from/--count on the golden tiny trace: the
# vectors' shape and totals (the exact vectors are checked by hand in
# tests/unit/bbv_test.cpp), a region equal to dump's, and option errors.
set -euo pipefail
Q="$QEMUTRACE_BUILD/bin/qemutrace"
G="$QEMUTRACE_SRC/tests/golden/format/tiny.qtr"  # 57 instructions, blocks shorter than 10
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$Q" convert --to bbv --interval 10 "$G" -o "$T/v" > /dev/null
[ -f "$T/v_0.bb" ] || fail "no $T/v_0.bb"
python3 - "$T/v_0.bb" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "the file does not end in a newline"
lines = lines[:-1]
# 57 instructions in blocks of fewer than 10: a vector after each 10, the
# last 7 not written.
if len(lines) != 5: sys.exit(f"FAIL: {len(lines)} vectors, want 5")
total, ids = 0, set()
for k, line in enumerate(lines, 1):
    if not re.fullmatch(r"T(:\d+:\d+ )+", line): sys.exit(f"FAIL: not a SimPoint line: {line!r}")
    pairs = [tuple(map(int, m)) for m in re.findall(r":(\d+):(\d+) ", line)]
    assert [i for i, _ in pairs] == sorted(i for i, _ in pairs), line
    total += sum(c for _, c in pairs)
    # The k-th vector is written at the first block end at or after 10k
    # instructions; vectors do not overlap.
    if not 10 * k <= total < 10 * k + 10: sys.exit(f"FAIL: {total} instructions by vector {k}")
    ids.update(i for i, _ in pairs)
if total > 57 or total < 50: sys.exit(f"FAIL: {total} instructions in the vectors")
if sorted(ids) != list(range(1, len(ids) + 1)): sys.exit(f"FAIL: ids {sorted(ids)} not numbered from 1")
PY

# A region by instruction index is what dump prints for it.
"$Q" convert --to text --from 40 --count 5 "$G" -o "$T/r" > /dev/null
"$Q" dump --from 40 --count 5 "$G" > "$T/dump.txt"
[ "$(grep -c '^0 ' "$T/r_0.txt")" = 5 ] || fail "region does not hold 5 instructions: $(cat "$T/r_0.txt")"
cmp -s "$T/r_0.txt" "$T/dump.txt" || fail "region differs from dump: $(diff "$T/r_0.txt" "$T/dump.txt")"

err=$("$Q" convert --to din --interval 10 "$G" -o "$T/d" 2>&1) && fail "--interval with din accepted"
[ "$err" = "qemutrace: --interval applies to --to bbv only" ] || fail "din --interval: $err"
err=$("$Q" convert --to bbv --interval 0 "$G" -o "$T/z" 2>&1) && fail "--interval 0 accepted"
[ "$(wc -l <<<"$err")" = 1 ] || fail "--interval 0: not one line: $err"
[ ! -e "$T/z_0.bb" ] || fail "--interval 0 wrote a file"
echo "bbv_convert: ok"
