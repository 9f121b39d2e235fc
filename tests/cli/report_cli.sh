#!/bin/bash
# qemutrace report on the checked-in two-core trace (tests/golden/convert/tiny,
# no manifest): the page's JSON block and data-stat cells equal `stats --json`,
# it holds the fixed number of intervals whatever the trace's length, and it
# loads nothing from outside. Bad input (missing base, garbage, a corrupt
# chunk, a bad ELF, an unwritable output, the output naming an input) gives
# one line on stderr, a non-zero exit, and leaves an older report as it was;
# so does a trace in a simulator format.
# Env: QEMUTRACE_BUILD, QEMUTRACE_SRC.
set -u
Q="${QEMUTRACE_BUILD:?}/bin/qemutrace"
SRC="${QEMUTRACE_SRC:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/cli_lib.sh"
cp "$SRC/tests/golden/convert/tiny_0" "$SRC/tests/golden/convert/tiny_1" "$T/"

check "report tiny" "$Q" report "$T/tiny" -o "$T/tiny.html"
"$Q" stats --json "$T/tiny" >"$T/stats.json"
python3 - "$T/tiny.html" "$T/stats.json" <<'EOF'
import html.parser, json, re, sys
page, stats = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
bad = []
block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
data = json.loads(block.group(1))
keys = ("instructions", "loads", "stores", "kernel_instructions", "user_instructions", "distinct_pcs",
        "distinct_data_lines", "bytes", "markers")
for want, got in zip(stats["cores"] + [stats["total"]], data["cores"] + [data["total"]]):
    bad += ["%s: page %s stats %s" % (k, got.get(k), want[k]) for k in keys if got.get(k) != want[k]]

class Cells(html.parser.HTMLParser):
    cells, cur = {}, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.cur = (a["data-core"], a["data-stat"]) if "data-stat" in a else None
    def handle_data(self, d):
        if self.cur: self.cells[self.cur] = d.strip(); self.cur = None
p = Cells(); p.feed(page)
for c in stats["cores"] + [dict(stats["total"], core="total")]:
    for k in keys[:-1]:
        if p.cells.get((str(c["core"]), k)) != str(c[k]):
            bad.append("cell %s %s: %s != %s" % (c["core"], k, p.cells.get((str(c["core"]), k)), c[k]))
# A fixed number of intervals: one bar per level and interval at most.
bars = len(re.findall(r'<rect class="bar"[^>]*><title>(user|kernel) ', page))
if not 0 < bars <= 2 * 120 * len(stats["cores"]): bad.append("%d timeline bars" % bars)
if re.search(r'(src|href)="(https?:)?//', page): bad.append("the page links outside")
print("FAIL page: " + "; ".join(bad) if bad else "ok   page counts = stats --json (%d bars)" % bars)
sys.exit(1 if bad else 0)
EOF
[ $? = 0 ] || fails=$((fails + 1))

# A trace with hypervisor and nested-guest instructions (the golden
# features_level file): the timeline has their series, and the page's level
# counts equal stats --json.
cp "$SRC/tests/golden/format/features_level.qtr" "$T/lv_0"
check "report levels" "$Q" report "$T/lv" -o "$T/lv.html"
"$Q" stats --json "$T/lv" >"$T/levels-stats.json"
python3 - "$T/lv.html" "$T/levels-stats.json" <<'EOF'
import json, re, sys
page, stats = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1))
bad = []
keys = ("instructions", "kernel_instructions", "user_instructions", "hypervisor_instructions", "nested_instructions")
for want, got in zip(stats["cores"] + [stats["total"]], data["cores"] + [data["total"]]):
    bad += ["%s: page %s stats %s" % (k, got.get(k), want[k]) for k in keys if got.get(k) != want[k]]
if not stats["total"]["hypervisor_instructions"] or not stats["total"]["nested_instructions"]:
    bad.append("the golden trace has no hypervisor or nested instructions")
def drawn(series):
    return sum(int(n) for n in re.findall(r'<rect class="bar"[^>]*><title>%s (\d+)</title>' % series, page))
if not drawn("hypervisor"): bad.append("no hypervisor bars in the timeline")
if drawn("nested guest") != stats["total"]["nested_instructions"]:
    bad.append("nested bars add up to %d, stats says %d" % (drawn("nested guest"), stats["total"]["nested_instructions"]))
print("FAIL levels: " + "; ".join(bad) if bad else "ok   levels: hypervisor and nested series drawn, counts = stats --json")
sys.exit(1 if bad else 0)
EOF
[ $? = 0 ] || fails=$((fails + 1))

# Bad input. An older report must survive every failure.
echo "older report" >"$T/old.html"
one_line_error "missing base" "$Q" report "$T/no-such-trace" -o "$T/old.html"
head -c 100 /dev/urandom >"$T/garbage_0"
one_line_error "garbage trace" "$Q" report "$T/garbage" -o "$T/old.html"
# A corrupt chunk: bytes flipped inside tiny_0's first chunk payload.
cp "$T/tiny_0" "$T/bad_0"
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/bad_0" bs=1 seek=140 conv=notrunc 2>/dev/null
one_line_error "corrupt chunk" "$Q" report "$T/bad" -o "$T/old.html"
"$Q" convert --to tejas "$T/tiny" -o "$T/tejas" >/dev/null
one_line_error "a simulator format" "$Q" report "$T/tejas" -o "$T/old.html"
head -c 64 /dev/urandom >"$T/prog"
one_line_error "not an ELF" "$Q" report "$T/tiny" -o "$T/old.html" --elf "$T/prog"
one_line_error "missing ELF" "$Q" report "$T/tiny" -o "$T/old.html" --elf "$T/no-such-prog"
one_line_error "unwritable output" "$Q" report "$T/tiny" -o /nonexistent-dir/r.html
one_line_error "output is an input" "$Q" report "$T/tiny" -o "$T/tiny_1"
check "older report kept" test "$(cat "$T/old.html")" = "older report"
check "input kept" cmp -s "$T/tiny_1" "$SRC/tests/golden/convert/tiny_1"
check "no temp file left" test -z "$(ls "$T" | grep '\.tmp$')"

[ $fails = 0 ] && echo "PASS report_cli" || { echo "FAIL report_cli ($fails)"; exit 1; }
