#!/usr/bin/env bash
# qemutrace report on a real run (qt-loop N on the built-in guest, -smp 2),
# loaded in headless Chromium (tests/browser_page.py):
#  - the page loads with no console errors and asks for nothing but itself;
#  - every plot is drawn (coloured pixels in the screenshot of its area);
#  - the counts in the page equal `stats --json`, the run's facts the manifest's;
#  - the 4 hottest PCs are qt-loop's loop body, each executed exactly N times
#    (the program's structure), inside the bounds it prints, and named as
#    `nm` names them;
#  - the ROI is marked on every core's timeline and listed as one region per
#    core; the regions hold every traced instruction.
source "$(dirname "$0")/launcher_lib.sh"
n=200000
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
prog=$guest/programs/qt-loop
"$qt" run --quiet --smp 2 --program qt-loop --args $n --trace "$tmp/loop" >"$tmp/loop.out" 2>"$tmp/loop.err" ||
  { fail "run exit $?: $(tail -n1 "$tmp/loop.err")"; exit 1; }
line=$(grep -a 'qt-loop: id=1' "$tmp/loop.out" | tr -d '\r' | head -n1)
[ -n "$line" ] || { fail "qt-loop printed nothing"; exit 1; }
"$qt" stats --json "$tmp/loop" >"$tmp/stats.json" 2>"$tmp/stats.err" || fail "stats: $(cat "$tmp/stats.err")"
t0=$(date +%s.%N)
"$qt" report "$tmp/loop" -o "$tmp/page.html" --elf "$prog" 2>"$tmp/report.err" ||
  { fail "report exit $?: $(cat "$tmp/report.err")"; exit 1; }
ok "report written ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s, $(stat -c %s "$tmp/page.html") bytes)"
python3 "$src/tests/browser_page.py" "$tmp/page.html" "$tmp/page.png" >"$tmp/page.json" 2>"$tmp/browser.err" ||
  { fail "browser: $(tail -n3 "$tmp/browser.err")"; exit 1; }
# Keep the screenshot for a person to look at when asked to.
[ -n "${QEMUTRACE_KEEP_SCREENSHOT:-}" ] && cp "$tmp/page.png" "$QEMUTRACE_KEEP_SCREENSHOT"
nm -S --defined-only "$prog" >"$tmp/nm.txt" || fail "nm $prog"

python3 - "$tmp/page.json" "$tmp/stats.json" "$tmp/loop.json" "$tmp/nm.txt" "$line" "$n" "$tmp/page.html" <<'EOF' || fail "page checks"
import json, re, sys
page, stats, manifest = (json.load(open(p)) for p in sys.argv[1:4])
nm_lines, line, n, html = open(sys.argv[4]).read().splitlines(), sys.argv[5], int(sys.argv[6]), sys.argv[7]
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond: bad.append(what)

check(page["console_errors"] == [], "no console errors: %s" % page["console_errors"])
check(all(u == "file://" + html for u in page["requests"]) and page["requests"],
      "the page asks for nothing but itself: %s" % page["requests"])

# Counts in the visible table equal stats --json, per core and in total.
keys = ("instructions", "user_instructions", "kernel_instructions", "loads", "stores", "distinct_pcs",
        "distinct_data_lines", "bytes")
cells = page["dom"]["cells"]
rows = {str(c["core"]): c for c in stats["cores"]}
rows["total"] = stats["total"]
diff = ["%s %s: page %s stats %s" % (who, k, cells.get(who, {}).get(k), want[k])
        for who, want in rows.items() for k in keys if cells.get(who, {}).get(k) != str(want[k])]
check(not diff and len(cells) == len(rows), "page counts = stats --json for cores %s and total %s" %
      (sorted(rows), diff[:4]))
data = page["dom"]["data"]
check(data["total"]["markers"] == stats["total"]["markers"], "markers = stats: %s" % data["total"]["markers"])

# The run's facts are the manifest's.
facts = page["dom"]["facts"]
check(facts.get("QEMU version") == manifest["qemu_version"] and facts.get("cores") == str(manifest["cores"]),
      "facts: QEMU %s, %s cores" % (facts.get("QEMU version"), facts.get("cores")))
check(" ".join(manifest["command_line"]) == facts.get("command line"), "command line shown")

# Every plot is drawn: pixels of its series' colours (legend: user blue,
# kernel orange; cache lines teal; core 0 blue, core 1 orange) in its area
# of the screenshot. The legends are outside the plots.
plots = page["plots"]
want = {"mix-plot"} | {"%s-core%s" % (k, c) for k in ("timeline", "footprint") for c in rows if c != "total"}
check(want <= set(plots), "plots present: %s" % sorted(plots))
def near(plot, colour, tol=24):
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return sum(n for c, n in plots[plot]["coloured"].items()
               if all(abs(int(c[i:i + 2], 16) - v) <= tol for i, v in zip((1, 3, 5), rgb)))
drawn = {}
for p in sorted(want):
    colours = {"timeline": ["#1976d2", "#f57c00"], "footprint": ["#00838f"], "mix": ["#1976d2", "#f57c00"]}
    drawn[p] = [near(p, c) for c in colours[p.split("-")[0]]]
need = {p: v for p, v in drawn.items() if (sum(v) < 300 if p.startswith("timeline") else min(v) < 300)}
check(not need, "every plot drawn (pixels of its series' colours: %s)" % drawn)

# The 4 hottest PCs: the loop body, N times each, named like nm names them.
m = re.search(r"roi_pc_begin=(0x[0-9a-f]+) roi_pc_end=(0x[0-9a-f]+)", line)
lo, hi = int(m.group(1), 16), int(m.group(2), 16)
syms = []
for l in nm_lines:
    f = l.split()
    if len(f) == 4 and f[2] in "tT":
        syms.append((int(f[0], 16), int(f[1], 16), f[3]))
def nm_name(pc):
    for a, size, name in syms:
        if a <= pc < a + size:
            return name if pc == a else "%s+%#x" % (name, pc - a)
    return ""
hot = page["dom"]["hot"][:4]
check(len(hot) == 4 and all(int(h["count"]) == n for h in hot), "4 hottest PCs executed %d times each: %s" %
      (n, [h["count"] for h in hot]))
check(all(lo <= int(h["pc"], 16) < hi for h in hot), "they lie in the loop [%#x, %#x): %s" %
      (lo, hi, [h["pc"] for h in hot]))
named = [(h["symbol"], nm_name(int(h["pc"], 16))) for h in hot]
check(all(s == w and w.startswith("qt_loop_roi+") for s, w in named), "named as nm names them: %s" % named)

# The ROI is run-wide: one closed region on every core, marked on every
# core's timeline, together holding every traced instruction (the loop may
# move between cores).
regions = page["dom"]["regions"]
for core in (c for c in rows if c != "total"):
    marks = plots["timeline-core%s" % core]["marks"]
    mine = [r for r in regions if r[0] == core]
    check(marks >= 2 and len(mine) == 1 and mine[0][5] == "magic_nop",
          "core %s: ROI begin and end marked (%d marks), one region closed by the marker: %s" % (core, marks, mine))
inside = sum(int(r[3]) for r in regions)
check(inside == stats["total"]["instructions"] and inside >= 1 + 4 * n,
      "the regions hold all %d instructions (>= 1+4N)" % inside)
sys.exit(1 if bad else 0)
EOF
[ $fails = 0 ] && echo "PASS report_page" || { echo "FAIL report_page ($fails)"; exit 1; }
