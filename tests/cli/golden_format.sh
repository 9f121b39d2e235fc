#!/usr/bin/env bash
# stats and verify on the checked-in tiny trace, whose counts are known by
# construction (see tests/unit/golden_test.cpp, make_tiny), plus damaged copies.
set -euo pipefail
Q="$QEMUTRACE_BUILD/bin/qemutrace"
G="$QEMUTRACE_SRC/tests/golden/format/tiny.qtr"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$Q" stats --json "$G" > "$T/stats.json"
python3 - "$T/stats.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
c = j["cores"][0]
want = {"core": 0, "instructions": 57, "loads": 11, "stores": 5, "kernel_instructions": 15,
        "user_instructions": 42, "distinct_pcs": 7, "distinct_data_lines": 12,
        "markers": {"roi_begin": 1, "discontinuity": 1, "roi_end": 1}}
for k, v in want.items():
    if c.get(k) != v: sys.exit(f"FAIL: cores[0].{k} = {c.get(k)!r}, want {v!r}")
for k in ("instructions", "loads", "stores", "kernel_instructions", "user_instructions", "bytes"):
    if j["total"][k] != c[k]: sys.exit(f"FAIL: total.{k} differs from the only core")
PY
bytes=$(stat -c %s "$G")
python3 -c "import json,sys; j=json.load(open('$T/stats.json')); sys.exit(0 if j['cores'][0]['bytes']==$bytes else 'FAIL: bytes')"

out=$("$Q" verify "$G") || fail "verify rejects the intact golden file: $out"
grep -q "ok: 2 chunks, 57 instructions" <<<"$out" || fail "verify output: $out"

# Cut inside the second chunk: the first (32 instructions) stays readable.
size=$(stat -c %s "$G")
head -c $((size - 128 - 10)) "$G" > "$T/cut"  # index+footer are 128 bytes
if out=$("$Q" verify "$T/cut"); then fail "verify accepted a truncated file"; fi
grep -q "recoverable: 32 instructions in 1 chunks" <<<"$out" || fail "verify on cut file: $out"
n=$("$Q" stats --json "$T/cut" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["instructions"])')
[ "$n" = 32 ] || fail "stats on cut file counted $n, want 32"

# A flipped payload byte: verify names the chunk; stats fails with one line.
cp "$G" "$T/bad"
printf '\x55' | dd of="$T/bad" bs=1 seek=150 conv=notrunc status=none
if out=$("$Q" verify "$T/bad"); then fail "verify accepted a corrupt file"; fi
grep -q "chunk 0 at offset 64" <<<"$out" || fail "verify did not name the chunk: $out"
if err=$("$Q" stats "$T/bad" 2>&1 >/dev/null); then fail "stats accepted a corrupt file"; fi
[ "$(wc -l <<<"$err")" = 1 ] || fail "stats error is not one line: $err"
grep -q "^qemutrace: .*bad: chunk 0" <<<"$err" || fail "stats error: $err"

# Missing file and garbage.
err=$("$Q" stats "$T/nope" 2>&1) && fail "stats on a missing file succeeded"
[ "$(wc -l <<<"$err")" = 1 ] || fail "missing-file error is not one line: $err"
echo "not a trace" > "$T/text"
err=$("$Q" verify "$T/text") && fail "verify accepted a text file"
grep -q "not a qemutrace file" <<<"$err" || fail "verify on text: $err"

# The run's distinct data lines count the lines an access straddles into, as
# each file's do: for one file they are equal (tiny_0 of the convert goldens
# has accesses that straddle a line).
"$Q" stats --json "$QEMUTRACE_SRC/tests/golden/convert/tiny_0" >"$T/one.json"
lines=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["cores"][0]["distinct_data_lines"], j["total"]["distinct_data_lines"])' "$T/one.json")
[ "${lines% *}" = "${lines#* }" ] || fail "one file: core and total distinct data lines differ ($lines)"
echo "golden_format: ok"
