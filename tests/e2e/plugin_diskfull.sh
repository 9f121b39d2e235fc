#!/usr/bin/env bash
# A full disk stops tracing with one clear line on stderr; the guest keeps
# running, and the file stays valid up to its last complete chunk. An
# unwritable directory disables tracing the same way. Needs root for a small
# tmpfs (skipped otherwise).
source "$(dirname "$0")/plugin_lib.sh"
make_initrd x86_64 "$T/initrd" qt-loop 100000
boot x86_64 "$T/initrd" "$T/log0" "base=$T/nonexistent/dir/t,start=now" || fail "qemu exit $?"
guest_ok "$T/log0"
[ "$(grep -c '^qemutrace: cannot write the trace' "$T/log0.err")" = 1 ] || { cat "$T/log0.err"; fail "unwritable dir: no single error line"; }
note "unwritable: $(grep '^qemutrace: cannot' "$T/log0.err")"
if [ "$(id -u)" != 0 ]; then echo "SKIP plugin_diskfull (disk-full part needs root for a tmpfs)"; exit 0; fi
mkdir -p "$T/small"
mount -t tmpfs -o size=400k tmpfs "$T/small"
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
boot x86_64 "$T/initrd" "$T/log" "base=$T/small/t,start=now" || fail "qemu exit $?"
guest_ok "$T/log"
[ "$(grep -c '^qemutrace: cannot write the trace' "$T/log.err")" = 1 ] || { cat "$T/log.err"; fail "disk full: no single error line"; }
note "disk full: $(grep '^qemutrace: cannot' "$T/log.err")"
out=$("$QT" verify "$T/small/t_0" 2>&1 || true)
note "$out"
echo "$out" | grep -q 'recoverable: [1-9]' || fail "no recoverable chunks"
echo "PASS plugin_diskfull"
