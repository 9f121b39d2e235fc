#!/usr/bin/env bash
# qemutrace report on a sampled run (qt-loop with --window/--every on the
# built-in guest): the page lists the windows as regions, and
#  - every window the manifest records as ended (roi_end, source window) is
#    a region ended by "window";
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
python3 - "$tmp/page.json" "$tmp/stats.json" "$tmp/w.json" <<'EOF' || fail "window checks"
import json, sys
page, stats, manifest = (json.load(open(p)) for p in sys.argv[1:4])
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond: bad.append(what)
check(page["console_errors"] == [], "no console errors: %s" % page["console_errors"])
regions = page["dom"]["regions"]  # core, id, first, instructions, began by, ended by
ended = sum(1 for e in manifest["events"] if e["event"] == "roi_end" and e.get("source") == "window")
by_window = sum(1 for r in regions if r[5] == "window")
check(ended >= 2 and by_window == ended, "%d windows ended in the manifest, %d regions ended by a window" %
      (ended, by_window))
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
