#!/usr/bin/env bash
# Every trace an end-to-end test leaves passes `qemutrace verify` (structure,
# regions, control flow, manifest totals). Sourced by plugin_lib.sh and
# launcher_lib.sh, whose exit traps call verify_traces on the test's temp dir
# when the test itself passed. A test that makes a bad trace on purpose says
# so with skip_verify BASE.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "verify_lib.sh: helpers only"; exit 0; }

verify_skipped=" "
skip_verify() { verify_skipped+="$1.json "; }

# verify_traces QEMUTRACE DIR: verifies each finished run under DIR whose
# manifest says its files are binary; prints what fails. Returns 1 if any does.
verify_traces() {
  local q=$1 dir=$2 m out bad=0 n=0
  [ -d "$dir" ] || return 0
  while IFS= read -r m; do
    case "$verify_skipped" in *" $m "*) continue ;; esac
    n=$((n + 1))
    if ! out=$("$q" verify "$m" 2>&1); then
      echo "FAIL: verify $m:" >&2
      grep -v ': ok: ' <<<"$out" | head -5 >&2
      bad=1
    fi
  done < <(find "$dir" -name '*.json' -type f -print0 2>/dev/null | xargs -0 -r python3 -c '
import json, sys
for p in sys.argv[1:]:
    try: j = json.load(open(p))
    except Exception: continue
    if isinstance(j, dict) and "qemutrace_manifest" in j and j.get("complete") and \
       "binary" in (j.get("format"), j.get("files_format")):
        print(p)')
  [ $bad = 0 ] && [ $n -gt 0 ] && echo "  verify: $n run(s) intact"
  return $bad
}
