#!/usr/bin/env bash
# verify checks a run's manifest against its files and names each file once
# per line. The golden tiny trace's counts are known by construction
# (tests/unit/golden_test.cpp, make_tiny): 57 instructions, 15 in the
# kernel, 11 loads, 5 stores.
set -euo pipefail
Q="$QEMUTRACE_BUILD/bin/qemutrace"
G="$QEMUTRACE_SRC/tests/golden/format/tiny.qtr"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cp "$G" "$T/run_0"
bytes=$(stat -c %s "$G")
manifest() { # INSNS KERNEL LOADS STORES BYTES TOTAL_INSNS [COMPLETE]
  cat > "$T/run.json" <<JSON
{"qemutrace_manifest": 1, "complete": ${7:-true}, "format": "binary", "cores": 1,
 "files": [{"core": 0, "path": "run_0", "instructions": $1, "kernel_instructions": $2,
            "loads": $3, "stores": $4, "bytes": $5}],
 "totals": {"instructions": $6, "kernel_instructions": $2, "bytes": $5}}
JSON
}

manifest 57 15 11 5 "$bytes" 57
out=$("$Q" verify "$T/run.json") || fail "verify rejects a manifest that agrees: $out"
[ "$out" = "$T/run_0: ok: 2 chunks, 57 instructions, $bytes bytes" ] || fail "verify output: $out"
out=$("$Q" verify "$T/run") || fail "verify rejects the run base: $out"

manifest 58 15 11 5 "$bytes" 57
if out=$("$Q" verify "$T/run.json"); then fail "verify accepted a manifest with a wrong instruction count"; fi
grep -qxF "$T/run.json: INVALID: files[$T/run_0].instructions is 58 in the manifest, 57 in the files" <<<"$out" ||
  fail "wrong file count: $out"
manifest 57 15 12 5 "$bytes" 57
if out=$("$Q" verify "$T/run.json"); then fail "verify accepted a manifest with a wrong load count"; fi
grep -qF "files[$T/run_0].loads is 12 in the manifest, 11 in the files" <<<"$out" || fail "wrong loads: $out"
manifest 57 15 11 5 "$bytes" 60
if out=$("$Q" verify "$T/run"); then fail "verify accepted a manifest with wrong totals"; fi
grep -qxF "$T/run.json: INVALID: totals.instructions is 60 in the manifest, 57 in the files" <<<"$out" ||
  fail "wrong totals: $out"
# Until the run is complete its counts are not final: not compared.
manifest 1 1 1 1 1 1 false
"$Q" verify "$T/run.json" >/dev/null || fail "verify compared an incomplete run's counts"

# One line per problem, naming the file once.
echo "not a trace" > "$T/text"
if out=$("$Q" verify "$T/text"); then fail "verify accepted a text file"; fi
[ "$(grep -o "$T/text" <<<"$out" | wc -l)" = 1 ] || fail "the path is not printed once: $out"
echo "verify_meaning: ok"
