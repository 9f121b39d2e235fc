#!/usr/bin/env bash
# qemutrace report on a sampled run (qt-loop with --window/--every on the
# built-in guest): the page lists the windows as regions, and
#  - per core, as many regions as `qemutrace dump` shows ROI_BEGIN markers,
#    as many ended by "window" as it shows ROI_END markers from a window;
#  - every traced instruction lies in a listed region (the trace format's
#    invariant), so the regions' instructions add up to `stats --json`;
#  - the windows are shaded on the timeline of each core that has them.
# The page is read in headless Chromium (tests/browser_page.py).
source "$(dirname "$0")/launcher_lib.sh"
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
"$qt" run --quiet --program qt-loop --args 1000000 --window 20000 --every 200000 --trace "$tmp/w" \
  >"$tmp/w.out" 2>"$tmp/w.err" || { fail "run exit $?: $(tail -n1 "$tmp/w.err")"; exit 1; }
"$qt" stats --json "$tmp/w" >"$tmp/stats.json" 2>"$tmp/stats.err" || fail "stats: $(cat "$tmp/stats.err")"
"$qt" report "$tmp/w.json" -o "$tmp/w.html" 2>"$tmp/report.err" || { fail "report: $(cat "$tmp/report.err")"; exit 1; }
python3 "$src/tests/browser_page.py" "$tmp/w.html" "$tmp/w.png" >"$tmp/page.json" 2>"$tmp/browser.err" ||
  { fail "browser: $(tail -n3 "$tmp/browser.err")"; exit 1; }
for f in "$tmp"/w_[0-9]*; do
  k=${f##*_}
  echo "$k $("$qt" dump "$f" | awk '/^ *M roi_begin/ {b++} /^ *M roi_end window/ {e++} END {print b+0, e+0}')"
done >"$tmp/dump_markers"
python3 - "$tmp/page.json" "$tmp/stats.json" "$tmp/dump_markers" <<'EOF' || fail "window checks"
import json, sys
page, stats = (json.load(open(p)) for p in sys.argv[1:3])
dumped = {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in open(sys.argv[3])}
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond: bad.append(what)
check(page["console_errors"] == [], "no console errors: %s" % page["console_errors"])
regions = page["dom"]["regions"]  # core, id, first, instructions, began by, ended by
for core, (begins, window_ends) in sorted(dumped.items()):
    mine = [r for r in regions if r[0] == core]
    ended = sum(1 for r in mine if r[5] == "window")
    check(len(mine) == begins and ended == window_ends and ended >= 2,
          "core %s: %d regions, %d ended by a window; dump: %d ROI_BEGIN, %d ROI_END from a window" %
          (core, len(mine), ended, begins, window_ends))
total = sum(int(r[3]) for r in regions)
check(total == stats["total"]["instructions"], "regions hold %d instructions, stats counts %d" %
      (total, stats["total"]["instructions"]))
for core in sorted({r[0] for r in regions}):
    plot = page["plots"].get("timeline-core%s" % core, {})
    n = sum(1 for r in regions if r[0] == core)
    check(plot.get("spans") == n, "core %s: %s shaded spans for %d regions" % (core, plot.get("spans"), n))
sys.exit(1 if bad else 0)
EOF
[ $fails = 0 ] && echo "PASS report_windows" || { echo "FAIL report_windows ($fails)"; exit 1; }
