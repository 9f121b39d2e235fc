#!/bin/bash
# Shared checks of the CLI tests (sourced, not a test): check and
# one_line_error count failures in $fails; one_line_error keeps the
# command's output in $T/out and $T/err.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "cli_lib.sh: helpers only"; exit 0; }
fails=0
check() {  # check "what" condition...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
one_line_error() {  # one_line_error "what" cmd...: non-zero exit, exactly one stderr line
  local what=$1; shift
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$T/err")
  if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q '^qemutrace: ' "$T/err"; then
    echo "ok   $what: $(cat "$T/err")"
  else
    echo "FAIL $what: rc=$rc, $lines stderr lines:"; cat "$T/err"; fails=$((fails + 1))
  fi
}
