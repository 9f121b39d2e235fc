#!/usr/bin/env bash
# An unknown key or a bad value makes QEMU fail to start, with one
# "qemutrace:" line naming the key.
source "$(dirname "$0")/plugin_lib.sh"
check() {  # OPTS KEY
  local rc=0
  timeout "$QT_DEADLINE" qemu-system-x86_64 -display none -monitor none -serial none -plugin "$PLUGIN,$1" \
    -kernel /nonexistent 2>"$T/err" >/dev/null || rc=$?
  [ "$rc" -ne 0 ] || fail "'$1' did not fail"
  local lines
  lines=$(grep -c '^qemutrace:' "$T/err" || true)
  [ "$lines" = 1 ] || { cat "$T/err"; fail "'$1': $lines qemutrace lines"; }
  grep '^qemutrace:' "$T/err" | grep -q "'$2'" || { cat "$T/err"; fail "'$1': key '$2' not named"; }
  note "$1 -> $(grep '^qemutrace:' "$T/err")"
}
check "base=$T/x,foo=1" foo
check "base=$T/x,limit=abc" limit
check "base=$T/x,format=xml" format
check "base=$T/x,start=later" start
check "base=$T/x,markers=all" markers
check "base=$T/x,values=maybe" values
check "base=$T/x,window=10" every
check "start=now" base
# A base that is a device or lies in /dev: nothing may be created there.
check "base=/dev/null" base
[ ! -e /dev/null_0 ] && [ ! -e /dev/null.json ] || fail "files created next to /dev/null"
check "base=/dev/qt-badopt-$$" base
mkdir -p "$T/way/t_0"
check "base=$T/way/t" base
echo "PASS plugin_badopt"
