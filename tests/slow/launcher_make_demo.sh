#!/usr/bin/env bash
# The README's first command from a fresh clone: `make demo` in a new clone
# of this repository (its committed HEAD), first with an empty guest cache
# (builds the project and the guest), then again with the cache (the demo
# itself must take under 2 minutes). Both must exit 0 and print the summary.
# The cache lives in a private XDG_CACHE_HOME; the guest build downloads the
# kernel and busybox packages. Takes several minutes (the project build).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${QEMUTRACE_SRC:-$(cd "$here/../.." && pwd)}
tmp=$(mktemp -d /tmp/qt-launcher-clone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
if ! git -C "$src" rev-parse --verify -q HEAD >/dev/null; then
  echo "skip: $src is not a git checkout"
  exit 0
fi
git clone -q "$src" "$tmp/clone" || { echo "FAIL: git clone $src" >&2; exit 1; }
unset QEMUTRACE_BUILD QEMUTRACE_SRC QEMUTRACE_PLUGIN QEMUTRACE_QEMU
export XDG_CACHE_HOME=$tmp/cache

secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.0f", b-a}'; }
check_demo_output() { # LOG LABEL
  grep -q "qemutrace summary" "$1" && ok "$2: summary printed" || fail "$2: no summary"
  grep -q "manifest: .*qemutrace-demo/demo.json" "$1" && ok "$2: manifest path printed" || fail "$2: no manifest path"
  grep -q "build/bin/qemutrace stats" "$1" && ok "$2: next commands printed" || fail "$2: no next commands"
}

t0=$(date +%s.%N)
(cd "$tmp/clone" && timeout 1500 make demo) >"$tmp/first.log" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "fresh clone, no cache: make demo exit 0 in $(secs "$t0") s" ||
  { fail "fresh clone, no cache: make demo exit $rc"; tail -20 "$tmp/first.log" >&2; }
check_demo_output "$tmp/first.log" "no cache"
[ -s "$XDG_CACHE_HOME/qemutrace/guest/x86_64/vmlinuz" ] && ok "guest cached in \$XDG_CACHE_HOME" || fail "no guest in $XDG_CACHE_HOME"

rm -rf "$tmp/clone/qemutrace-demo"
t0=$(date +%s.%N)
(cd "$tmp/clone" && timeout 600 make demo) >"$tmp/second.log" 2>&1
rc=$?
el=$(secs "$t0")
[ $rc -eq 0 ] && ok "with the cache: make demo exit 0 in $el s" || { fail "with the cache: make demo exit $rc"; tail -20 "$tmp/second.log" >&2; }
check_demo_output "$tmp/second.log" "cached"
d=$(sed -n 's/^demo finished in \([0-9.]*\) s.*/\1/p' "$tmp/second.log")
[ -n "$d" ] && awk -v d="$d" 'BEGIN{exit !(d < 120)}' && ok "the demo itself took $d s (< 120)" || fail "demo took '${d:-?}' s"
grep -q "building the built-in" "$tmp/second.log" && fail "the cached run rebuilt the guest" || ok "the cached run reused the guest"

[ $fails -eq 0 ] && echo "PASS launcher_make_demo" || { echo "$fails failure(s)" >&2; exit 1; }
