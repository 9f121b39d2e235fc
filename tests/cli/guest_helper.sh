#!/usr/bin/env bash
# The guest helper for images of your own: the build installs static
# qemutrace-guest-run binaries for x86_64 and i386 in build/bin. Checked from
# the ELF headers (class, machine, no program interpreter, no dynamic section)
# with readelf, an independent reader; the x86_64 one is also run natively.
source "$(dirname "$0")/launcher_cli_lib.sh"
command -v readelf >/dev/null || { echo "FAIL: readelf (binutils) missing" >&2; exit 1; }

check() { # check ARCH CLASS MACHINE
  local f=$build/bin/qemutrace-guest-run-$1 h
  [ -x "$f" ] || { fail "$f missing (the build makes it with guest/build-programs.sh)"; return; }
  h=$(readelf -h "$f") || { fail "$f is not an ELF file"; return; }
  grep -q "Class:.*$2" <<<"$h" && ok "$1: $2" || fail "$1: class is not $2: $(grep Class: <<<"$h")"
  grep -q "Machine:.*$3" <<<"$h" && ok "$1: $3" || fail "$1: machine is not $3: $(grep Machine: <<<"$h")"
  grep -q "Type:.*EXEC" <<<"$h" && ok "$1: executable" || fail "$1: not an executable: $(grep Type: <<<"$h")"
  readelf -l "$f" | grep -q INTERP && fail "$1: has a program interpreter (dynamically linked)" ||
    ok "$1: no program interpreter"
  readelf -d "$f" | grep -q NEEDED && fail "$1: needs shared libraries" || ok "$1: no shared libraries"
  if command -v file >/dev/null; then
    file -L "$f" | grep -q "statically linked" && ok "$1: file(1) says statically linked" ||
      fail "$1: file(1) says $(file -L "$f")"
  fi
}
check x86_64 ELF64 "X86-64"
check i386 ELF32 "80386"

# It works: runs a command and passes its exit status on.
if [ -x "$build/bin/qemutrace-guest-run-x86_64" ]; then
  "$build/bin/qemutrace-guest-run-x86_64" /bin/sh -c 'exit 7'; rc=$?
  [ $rc = 7 ] && ok "x86_64 helper runs a program and returns its status" || fail "x86_64 helper returned $rc, want 7"
fi

[ $fails -eq 0 ] && echo "PASS guest_helper" || { echo "$fails failure(s)" >&2; exit 1; }
