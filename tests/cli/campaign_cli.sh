#!/usr/bin/env bash
# qemutrace campaign without a guest: the example plan of docs/guide.md
# (examples/campaign.toml) expands into its 4 jobs with the run options the
# plan gives; bad plans, bad directories and a changed plan over old results
# are refused with one line (file:line:column where there is one), exit 1.
source "$(dirname "$0")/launcher_cli_lib.sh"

# 1. The example: 2 loop jobs (smp 1, 2) + 2 stride jobs (smp 1; binary, champsim).
out=$("$qt" campaign "$src/examples/campaign.toml" --dry-run -o "$tmp/ex" 2>&1)
rc=$?
want="loop_smp-1_format-binary_clock-virtual loop_smp-2_format-binary_clock-virtual stride_smp-1_format-binary_clock-virtual stride_smp-1_format-champsim_clock-virtual"
got=$(sed -n 's/^\([^:]*\): qemutrace run .*/\1/p' <<<"$out" | tr '\n' ' ' | sed 's/ $//')
[ $rc = 0 ] && [ "$got" = "$want" ] && ok "example plan: 4 jobs named by workload and settings" ||
  fail "example plan: rc $rc, jobs '$got', want '$want'"
line=$(grep '^stride_smp-1_format-champsim_clock-virtual:' <<<"$out")
for w in "--smp 1" "--clock virtual" "--format champsim" "--program qt-stride" "--args '10000 64'" \
  "--trace $tmp/ex/stride_smp-1_format-champsim_clock-virtual/trace"; do
  [[ "$line" == *" $w"* ]] || fail "example job command lacks '$w': $line"
done
[ -e "$tmp/ex" ] && fail "--dry-run created the output directory" || ok "--dry-run runs and creates nothing"

# 2. One line, exit 1, for each bad input.
one_line() {  # WHAT WANT CMD...
  local what=$1 want=$2 err rc
  shift 2
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  [ $rc = 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && [[ "$err" == *"$want"* ]] && ok "$what: $err" ||
    fail "$what: rc $rc, stderr '$err' (want one line with '$want')"
}
printf 'output = "o"\n[settings]\nsmp = [1, 300]\n[[workload]]\nname = "a"\nprogram = "qt-loop"\n' >"$tmp/badsmp.toml"
one_line "bad smp" "badsmp.toml:3:11: bad smp value '300'" "$qt" campaign "$tmp/badsmp.toml"
printf 'output = "o"\n[[workload]]\nname = "a"\nprogram = "qt-loop"\nfromat = "tejas"\n' >"$tmp/typo.toml"
one_line "typo'd setting" "typo.toml:5:10: unknown setting 'fromat'" "$qt" campaign "$tmp/typo.toml"
printf 'output = "o"\n[[workload]\n' >"$tmp/syntax.toml"
one_line "TOML syntax" "syntax.toml:2:" "$qt" campaign "$tmp/syntax.toml"
one_line "missing plan" "cannot read plan $tmp/none.toml" "$qt" campaign "$tmp/none.toml"
one_line "no plan" "campaign needs a PLAN" "$qt" campaign
one_line "bad --on" "bad --on value 'pbs'" "$qt" campaign "$src/examples/campaign.toml" --on pbs -o "$tmp/x"
one_line "status of a non-campaign" "is $tmp a campaign directory?" "$qt" campaign status "$tmp"
one_line "summary of a non-campaign" "is $tmp a campaign directory?" "$qt" campaign summary "$tmp"

# 3. A changed workload over results of the same name is refused.
mkdir -p "$tmp/dir"
python3 - "$tmp/dir/campaign.json" "$tmp/dir/a/trace" <<'EOP'
import json, sys
json.dump({"qemutrace_campaign": 1, "plan": "p", "jobs": [{"id": "a", "workload": "a", "settings": [], "smp": 2,
           "run_args": ["run", "--quiet", "--trace", sys.argv[2], "--program", "qt-loop", "--args", "5"],
           "console_input": ""}]}, open(sys.argv[1], "w"))
EOP
one_line "job index out of range" "job index 7 out of range: $tmp/dir has 1 jobs" "$qt" campaign job "$tmp/dir" 7
printf 'output = "dir"\n[[workload]]\nname = "a"\nprogram = "qt-loop"\nargs = "6"\n' >"$tmp/changed.toml"
one_line "changed workload" "job a in $tmp/dir was run with another command" "$qt" campaign "$tmp/changed.toml"
[ $fails = 0 ] && echo "PASS" || { echo "FAIL: $fails check(s)"; exit 1; }
