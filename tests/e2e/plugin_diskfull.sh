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

# A simulator format is converted from the binary recordings when the run
# ends; a disk that fills during that conversion leaves outputs that end on
# their last complete line (a cut line such as "-" is lost data Tejas
# misreads), each a prefix of what a full conversion of the kept recording
# gives. The recordings (about 1 MB) fit in 6 MB, the Tejas text (40 MB) not.
mkdir -p "$T/mid"
mount -t tmpfs -o size=6m tmpfs "$T/mid"
trap 'umount "$T/small" "$T/mid" 2>/dev/null; rm -rf "$T"' EXIT
boot x86_64 "$T/initrd" "$T/log2" "base=$T/mid/t,format=tejas" || fail "qemu exit $?"
guest_ok "$T/log2"
grep -q '^qemutrace: cannot finish the trace files' "$T/log2.err" || { cat "$T/log2.err"; fail "tejas disk full: no error line"; }
note "tejas disk full: $(grep '^qemutrace: cannot' "$T/log2.err")"
cut=0
for k in 0 1; do
  [ -f "$T/mid/t_${k}.qtr" ] || fail "recording t_${k}.qtr not kept"
  "$QT" convert --to tejas "$T/mid/t_${k}.qtr" -o "$T/full" >/dev/null
  [ -f "$T/mid/t_$k" ] || continue
  n=$(stat -c %s "$T/mid/t_$k")
  [ "$n" -eq 0 ] || [ "$(tail -c 1 "$T/mid/t_$k" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "t_$k ends in a cut line: '$(tail -n 1 "$T/mid/t_$k")'"
  cmp -s -n "$n" "$T/mid/t_$k" "$T/full_$k" || fail "t_$k is not a prefix of the full conversion"
  full=$(stat -c %s "$T/full_$k")
  # Shorter than the full conversion, even empty (a first write that did
  # not fit is taken back whole): the disk filled during the conversion.
  [ "$n" -lt "$full" ] && cut=$((cut + 1))
  note "t_$k: $n of $full bytes, ends on a line boundary"
done
[ "$cut" -gt 0 ] || fail "no output was cut part way (the disk did not fill during the conversion)"
echo "PASS plugin_diskfull"
