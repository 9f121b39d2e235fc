#!/usr/bin/env bash
# qemutrace campaign: one plan of 4 small jobs on the built-in guest -
# qt-loop on 1 and 2 cores, qt-stride, and a script that exits 3 on purpose.
#  1. --on local -j 2: exit 1 naming 1 failed job of 4; status and summary
#     say 3 done and 1 failed (exit 3); each qt-loop job's user instructions
#     (instructions - kernel) equal the expected_insns the program printed
#     in its own log; a report.html next to a job is linked.
#  2. The same plan again, after a done job's trace file was damaged: the
#     intact done jobs are kept untouched, the damaged one and the failed one
#     run again.
#  3. --on slurm on a single-node Slurm started here (slurm_lib.sh), into a
#     second directory: the summary equals the local one apart from timings
#     (and trace sizes within 10%: binary traces hold host timestamps),
#     and status names each job's array task. The daemons are stopped on exit.
source "$(dirname "$0")/launcher_lib.sh"
source "$(dirname "$0")/slurm_lib.sh"
[ -x "$qt" ] || { echo "FAIL: $qt missing" >&2; exit 1; }
"$qt" guest build --arch x86_64 >/dev/null || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
campaign_exit() {
  local rc=$?
  slurm_stop
  (exit $rc)
  launcher_test_exit
}
trap campaign_exit EXIT
t0=$SECONDS

printf '#!/bin/sh\necho "about to fail on purpose"\nexit 3\n' >"$tmp/fails.sh"
chmod +x "$tmp/fails.sh"
cat >"$tmp/plan.toml" <<'EOT'
output = "local"
[settings]
smp = [1, 2]
clock = "virtual"
[[workload]]
name = "loop"
program = "qt-loop"
args = "20000"
[[workload]]
name = "stride"
program = "qt-stride"
args = "1000 64"
smp = 1
[[workload]]
name = "fails"
program = "./fails.sh"
smp = 1
[slurm]
memory = "700M"
EOT
loop1=loop_smp-1_clock-virtual loop2=loop_smp-2_clock-virtual
stride=stride_smp-1_clock-virtual failjob=fails_smp-1_clock-virtual

# 1. Local.
"$qt" campaign "$tmp/plan.toml" -j 2 >"$tmp/c1.out" 2>"$tmp/c1.err"
rc=$?
[ $rc = 1 ] && grep -q "1 of 4 jobs failed" "$tmp/c1.err" && ok "local: exit 1, 1 of 4 jobs failed" ||
  { fail "local: exit $rc, want 1 with '1 of 4 jobs failed'"; cat "$tmp/c1.err" >&2; }
grep -q "campaign: 4/4 done\|campaign: 3/4 done, 0 running, 1 failed" "$tmp/c1.err" &&
  ok "local: progress line reaches 3/4 done, 0 running, 1 failed" || fail "local: no final progress line"
"$qt" campaign status "$tmp/local" >"$tmp/st1" 2>&1
grep -q "^4 jobs: 3 done, 1 failed$" "$tmp/st1" && grep -q "^failed .*$failjob  (exit 3)" "$tmp/st1" &&
  ok "status: 3 done, 1 failed (exit 3)" || { fail "status:"; cat "$tmp/st1" >&2; }
echo "<html></html>" >"$tmp/local/$loop1/report.html"
"$qt" campaign summary "$tmp/local" --json >"$tmp/s1.json" 2>"$tmp/s1.err" || fail "summary --json: $(cat "$tmp/s1.err")"
"$qt" campaign summary "$tmp/local" >"$tmp/s1.txt" 2>&1 || fail "summary: $(cat "$tmp/s1.txt")"
check=$(python3 - "$tmp/s1.json" "$tmp/local" "$loop1" "$loop2" "$stride" "$failjob" <<'EOP'
import json, re, sys
s, d, loop1, loop2, stride, fails = sys.argv[1:]
jobs = {j["job"]: j for j in json.load(open(s))["jobs"]}
bad = []
if sorted(jobs) != sorted([loop1, loop2, stride, fails]): bad.append("jobs %s" % sorted(jobs))
for j in (loop1, loop2):
    log = open("%s/%s/run.log" % (d, j), errors="replace").read()
    m = re.search(r"expected_insns=(\d+)", log)
    x = jobs.get(j, {})
    if not m: bad.append("%s printed no expected_insns" % j); continue
    user = (x.get("instructions") or 0) - (x.get("kernel_instructions") or 0)
    if user != int(m.group(1)): bad.append("%s user instructions %s != expected_insns %s" % (j, user, m.group(1)))
    if x.get("kernel_share") is None or not 0 <= x["kernel_share"] < 1: bad.append("%s kernel share %s" % (j, x.get("kernel_share")))
    if not x.get("bytes_per_instruction"): bad.append("%s no bytes/insn" % j)
    if not x.get("mips"): bad.append("%s no MIPS" % j)
for j in (loop1, loop2, stride):
    if jobs.get(j, {}).get("status") != "done" or jobs[j].get("exit_status") != 0: bad.append("%s not done/0" % j)
f = jobs.get(fails, {})
if f.get("status") != "failed" or f.get("exit_status") != 3: bad.append("fails: %s/%s" % (f.get("status"), f.get("exit_status")))
if jobs.get(loop1, {}).get("report") != loop1 + "/report.html": bad.append("report link %s" % jobs.get(loop1, {}).get("report"))
if jobs.get(loop2, {}).get("report") is not None: bad.append("a report link without a report")
print("; ".join(bad) or "ok")
EOP
)
[ "$check" = ok ] && ok "summary: loop user instructions = expected_insns, 3 done, fails exit 3, report linked" ||
  fail "summary: $check"
grep -q "^$failjob .*failed (3)" "$tmp/s1.txt" && grep -q "^$loop1 .*done (0) .*$loop1/report.html" "$tmp/s1.txt" &&
  ok "summary table: one row per job with status and report" || { fail "summary table:"; cat "$tmp/s1.txt" >&2; }

# 2. Again: only the damaged and the failed jobs run.
cp "$tmp/local/$loop1/job.json" "$tmp/loop1.job.before"
cp "$tmp/local/$loop2/job.json" "$tmp/loop2.job.before"
sum_before=$(cat "$tmp/local/$loop1"/trace_* | md5sum)
truncate -s -100 "$tmp/local/$stride/trace_0"
"$qt" campaign "$tmp/plan.toml" -j 2 >"$tmp/c2.out" 2>"$tmp/c2.err"
rc=$?
[ $rc = 1 ] && grep -q "2 to run, 2 done already" "$tmp/c2.err" && grep -q "$stride: .*verify.*running it again" "$tmp/c2.err" &&
  ok "again: 2 done jobs kept, the damaged and the failed job run again" ||
  { fail "again: exit $rc"; cat "$tmp/c2.err" >&2; }
cmp -s "$tmp/loop1.job.before" "$tmp/local/$loop1/job.json" && cmp -s "$tmp/loop2.job.before" "$tmp/local/$loop2/job.json" &&
  [ "$(cat "$tmp/local/$loop1"/trace_* | md5sum)" = "$sum_before" ] &&
  ok "again: the kept jobs' records and traces are untouched" || fail "again: a kept job was touched"
"$qt" verify "$tmp/local/$stride/trace.json" >/dev/null 2>&1 && ok "again: the damaged job's new trace verifies" ||
  fail "again: $stride does not verify after its rerun"
local_secs=$((SECONDS - t0))

# 3. Slurm.
t1=$SECONDS
if slurm_start "$tmp/slurm-daemons"; then
  ok "slurm: munged, slurmctld, slurmd up ($((SECONDS - t1)) s)"
  "$qt" campaign "$tmp/plan.toml" --on slurm -o "$tmp/slurm" >"$tmp/c3.out" 2>"$tmp/c3.err"
  rc=$?
  [ $rc = 1 ] && grep -q "submitted Slurm job array .* (4 tasks, 2 cpus each)" "$tmp/c3.err" &&
    grep -q "1 of 4 jobs failed" "$tmp/c3.err" && ok "slurm: one array of 4 tasks; exit 1, 1 of 4 failed" ||
    { fail "slurm: exit $rc"; cat "$tmp/c3.err" >&2; tail -n 5 "$tmp/slurm-daemons"/*.log >&2; }
  "$qt" campaign status "$tmp/slurm" >"$tmp/st3" 2>&1
  [ "$(grep -c "(exit [03], slurm [0-9]*_[0-3])" "$tmp/st3")" = 4 ] && grep -q "^4 jobs: 3 done, 1 failed$" "$tmp/st3" &&
    ok "slurm: status names each job's array task" || { fail "slurm status:"; cat "$tmp/st3" >&2; }
  "$qt" campaign summary "$tmp/slurm" --json >"$tmp/s3.json" 2>&1
  rm "$tmp/local/$loop1/report.html"
  "$qt" campaign summary "$tmp/local" --json >"$tmp/s1b.json" 2>&1
  same=$(python3 - "$tmp/s1b.json" "$tmp/s3.json" <<'EOP'
import json, sys
# Timings, and the sizes on disk: the binary format holds host timestamps
# (docs/trace-format.md, TIMESTAMP), whose varints vary by a few bytes.
timing = ("seconds", "mips", "bytes", "bytes_per_instruction")
ja, jb = (json.load(open(p))["jobs"] for p in sys.argv[1:])
a, b = ([{k: v for k, v in j.items() if k not in timing} for j in js] for js in (ja, jb))
size = [x["job"] for x, y in zip(ja, jb) if x["bytes"] and abs(x["bytes"] - y["bytes"]) > 0.1 * x["bytes"]]
print("same" if a == b and not size else "differ:\n%s\n%s\nsizes: %s" % (a, b, size))
EOP
)
  [ "$same" = same ] && ok "slurm: summary = local summary apart from timings" || fail "slurm vs local summary $same"
else
  fail "slurm: the daemons did not come up; logs:"
  tail -n 5 "$tmp/slurm-daemons"/*.log "$tmp/slurm-daemons"/*.out >&2 2>/dev/null
fi
echo "seconds: local $local_secs, slurm $((SECONDS - t1))"
[ $fails = 0 ] && echo "PASS" || { echo "FAIL: $fails check(s)"; exit 1; }
