#!/usr/bin/env bash
# How a run ends, and what it says, follow the files:
#  - kill -9 of the launcher (run, and the legacy front end): QEMU does not
#    keep tracing; it is stopped, and the plugin finishes the files;
#  - kill -9 of QEMU: exit 3, the summary says INCOMPLETE and counts what
#    `qemutrace verify` finds recoverable;
#  - SIGTERM to QEMU: QEMU shuts down cleanly, the files verify, exit 130
#    with a line saying QEMU was stopped (not "the guest stopped without ...");
#  - a full disk (root only: a small tmpfs): exit 3 and INCOMPLETE, not 0.
# Every wait is a status poll with a deadline.
source "$(dirname "$0")/launcher_lib.sh"
[ -x "$qt" ] && [ -x "$legacy" ] || { echo "FAIL: $qt or $legacy missing" >&2; exit 1; }
guest=$("$qt" guest build --arch x86_64) || { echo "FAIL: qemutrace guest build" >&2; exit 1; }
append=$(guest_append "$qt" x86_64) || { echo "FAIL: no kernel command line for the guest" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
qemus=()  # QEMU processes started here, killed on exit if still alive
trap '[ -n "$runpid" ] && kill "$runpid" 2>/dev/null; for q in "${qemus[@]}"; do kill -9 "$q" 2>/dev/null; done; mountpoint -q "$tmp/small" && umount "$tmp/small"; rm -rf "$tmp"' EXIT

cat >"$tmp/busy.sh" <<'EOS'
#!/bin/sh
busy() { i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done; }
busy & p1=$!
busy & p2=$!
sleep "${1:-300}"
kill $p1 $p2 2>/dev/null
EOS

# recoverable BASE: the sum of what verify finds in every core file (named
# directly: the manifest of a running trace may not list them yet).
recoverable() {
  "$qt" verify "$1"_[0-9]* 2>/dev/null | awk '
    /recoverable: [0-9]+/ { for (i = 1; i <= NF; i++) if ($i == "recoverable:") n += $(i + 1) }
    / ok: / { for (i = 1; i <= NF; i++) if ($i == "instructions,") n += $(i - 1) }
    END { print n + 0 }'
}
# wait_tracing BASE: until the run traces and some chunk is on disk.
wait_tracing() {
  local s
  for _ in $(seq 1200); do
    s=$("$qt" ctl "$1" status 2>/dev/null) && [ "$(field "$s" state)" = tracing ] &&
      [ "$(recoverable "$1")" -gt 0 ] && return 0
    [ -n "$runpid" ] && ! kill -0 "$runpid" 2>/dev/null && break
    sleep 0.1
  done
  return 1
}
# gone PID SECONDS: the process has exited within the deadline.
gone() {  # a zombie nobody reaps (a container's init) counts as gone
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
  return 1
}
start_run() {  # start_run BASE OUT [run options]: qemutrace run in the background
  local b=$1 out=$2; shift 2
  "$qt" run --quiet --start now --program "$tmp/busy.sh" --args 300 --trace "$b" "$@" >"$out" 2>"$out.err" &
  runpid=$!
}

# 1. The launcher is killed: its QEMU follows (run, then the legacy front end).
orphan() {  # orphan NAME BASE
  local name=$1 b=$2 q
  if ! wait_tracing "$b"; then fail "$name: never traced"; cat "$tmp/$name.out.err" >&2; return; fi
  q=$(pgrep -P "$runpid" | head -n1)
  [ -n "$q" ] || { fail "$name: no QEMU child"; return; }
  qemus+=("$q")
  kill -9 "$runpid"; wait "$runpid" 2>/dev/null; runpid=
  if gone "$q" 60; then ok "$name: QEMU ($q) ended after kill -9 of its launcher"
  else fail "$name: QEMU ($q) still runs 60 s after its launcher was killed"; kill -9 "$q"; return; fi
  "$qt" verify "$b" >"$tmp/$name.verify" 2>&1 && ok "$name: the files are finished ($(recoverable "$b") instructions)" ||
    { fail "$name: files not finished"; cat "$tmp/$name.verify" >&2; }
}
start_run "$tmp/orphan" "$tmp/orphan.out"
orphan orphan "$tmp/orphan"
bash "$src/guest/add-workload.sh" "$tmp/w.cpio" "$tmp/busy.sh" 300 >/dev/null || fail "add-workload"
cat "$guest/initrd.img" "$tmp/w.cpio" >"$tmp/initrd.img"
"$legacy" -smp 2 -m 512M -kernel "$guest/vmlinuz" -initrd "$tmp/initrd.img" \
  -append "$append" -nographic -no-reboot -nic none \
  -q_trace mode=binary,file="$tmp/legorphan",start=now </dev/null >"$tmp/legacy.out" 2>"$tmp/legacy.out.err" &
runpid=$!
orphan legacy "$tmp/legorphan"

# 2. QEMU is killed with -9: the files hold complete chunks; say so.
start_run "$tmp/k9" "$tmp/k9.out"
if wait_tracing "$tmp/k9"; then
  kill -9 "$(pgrep -P "$runpid" | head -n1)"
  wait "$runpid"; rc=$?; runpid=
  want=$(recoverable "$tmp/k9")
  got=$(grep -o 'recoverable: [0-9]*' "$tmp/k9.out" | awk '{print $2}')
  total=$(awk '$1 == "total" {print $2}' "$tmp/k9.out")
  [ $rc -eq 3 ] && ok "kill -9 of QEMU: exit 3" || fail "kill -9 of QEMU: exit $rc (want 3)"
  grep -q 'INCOMPLETE' "$tmp/k9.out" && ok "summary: $(grep INCOMPLETE "$tmp/k9.out")" || fail "summary does not say INCOMPLETE"
  [ "$want" -gt 0 ] && [ "$got" = "$want" ] && [ "$total" = "$want" ] &&
    ok "summary: $got recoverable, total $total = verify's $want" ||
    { fail "summary recoverable '$got', total '$total', verify '$want'"; cat "$tmp/k9.out" >&2; }
  grep -q 'killed by signal 9' "$tmp/k9.out.err" && ok "stderr: $(grep 'signal 9' "$tmp/k9.out.err")" ||
    { fail "stderr does not say QEMU was killed"; cat "$tmp/k9.out.err" >&2; }
else
  fail "kill -9 of QEMU: never traced"; cat "$tmp/k9.out.err" >&2
fi

# 3. QEMU gets SIGTERM: it shuts down cleanly; the files are complete.
start_run "$tmp/term" "$tmp/term.out"
if wait_tracing "$tmp/term"; then
  kill -TERM "$(pgrep -P "$runpid" | head -n1)"
  wait "$runpid"; rc=$?; runpid=
  [ $rc -eq 130 ] && ok "SIGTERM to QEMU: exit 130" || fail "SIGTERM to QEMU: exit $rc (want 130)"
  "$qt" verify "$tmp/term" >/dev/null && ok "SIGTERM to QEMU: the files verify" || fail "SIGTERM to QEMU: files do not verify"
  grep -q 'QEMU was stopped' "$tmp/term.out.err" && ! grep -qi 'incomplete\|without reporting' "$tmp/term.out.err" "$tmp/term.out" &&
    ok "stderr: $(grep 'QEMU was stopped' "$tmp/term.out.err")" || { fail "SIGTERM to QEMU: messages"; cat "$tmp/term.out.err" >&2; }
  total=$(awk '$1 == "total" {print $2}' "$tmp/term.out")
  want=$(recoverable "$tmp/term")
  [ "$total" = "$want" ] && ok "summary total $total = the files" || fail "summary total '$total', files '$want'"
else
  fail "SIGTERM to QEMU: never traced"; cat "$tmp/term.out.err" >&2
fi

# 4. A full disk: tracing stops, the workload finishes, the run is not a success.
if [ "$(id -u)" = 0 ]; then
  mkdir "$tmp/small" && mount -t tmpfs -o size=400k tmpfs "$tmp/small"
  "$qt" run --quiet --start now --program "$tmp/busy.sh" --args 3 --trace "$tmp/small/t" >"$tmp/full.out" 2>"$tmp/full.out.err"
  rc=$?
  [ $rc -eq 3 ] && ok "disk full: exit 3" || { fail "disk full: exit $rc (want 3)"; cat "$tmp/full.out.err" >&2; }
  grep -q 'INCOMPLETE' "$tmp/full.out" && ok "disk full: $(grep INCOMPLETE "$tmp/full.out")" || fail "disk full: summary does not say INCOMPLETE"
  umount "$tmp/small"
else
  echo "SKIP disk-full part (needs root for a tmpfs)"
fi

[ $fails -eq 0 ] && echo "PASS launcher_outcome" || { echo "$fails failure(s)" >&2; exit 1; }
