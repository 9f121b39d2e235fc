#!/usr/bin/env bash
# run --clock virtual: QEMU gets -icount shift=0,sleep=off, the manifest names
# the clock, and guest time follows instructions: two runs of qt-loop give the
# same trace (equal `dump` checksums) with exactly 1+4N user instructions.
# -smp 1 here; tests/e2e/plugin_icount.sh checks two cores (a pinned loop).
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
n=100000

for r in 1 2; do
  "$qt" run --quiet --smp 1 --clock virtual --program qt-loop --args $n --trace "$tmp/v$r" >"$tmp/v$r.out" 2>"$tmp/v$r.err" ||
    fail "virtual run $r: $(tail -n1 "$tmp/v$r.err")"
done
want=$(sed -n 's/.*expected_insns=\([0-9]*\).*/\1/p' "$tmp/v1.out" | tr -d '\r' | head -n1)
u=$("$qt" stats --json "$tmp/v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["user_instructions"])')
[ -n "$want" ] && [ "$u" = "$want" ] && ok "user instructions = expected_insns = $want" || fail "user $u != expected '$want'"
d1=$("$qt" dump "$tmp/v1" | md5sum | cut -d' ' -f1); d2=$("$qt" dump "$tmp/v2" | md5sum | cut -d' ' -f1)
[ "$d1" = "$d2" ] && ok "two virtual-clock runs: identical dumps ($d1)" || fail "two virtual-clock runs differ: $d1 vs $d2"
read -r kind icount cmd < <(python3 -c '
import json, sys; m = json.load(open(sys.argv[1])); c = m["clock"]
i = m["command_line"].index("-icount") if "-icount" in m["command_line"] else -1
print(c["kind"], c.get("icount", "-"), m["command_line"][i + 1] if i >= 0 else "-")' "$tmp/v1.json")
[ "$kind $icount $cmd" = "virtual shift=0,sleep=off shift=0,sleep=off" ] && ok "manifest: clock virtual, -icount $cmd" ||
  fail "manifest clock: '$kind $icount', QEMU -icount '$cmd'"

"$qt" run --quiet --smp 1 --program qt-loop --args 1000 --trace "$tmp/h" >/dev/null 2>"$tmp/h.err" || fail "host run: $(tail -n1 "$tmp/h.err")"
kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clock"]["kind"])' "$tmp/h.json")
[ "$kind" = host ] && ok "default clock in the manifest: host" || fail "default clock '$kind'"

[ $fails -eq 0 ] && echo "PASS launcher_clock" || { echo "$fails failure(s)" >&2; exit 1; }
