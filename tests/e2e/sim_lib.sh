#!/usr/bin/env bash
# Helpers for tests that run our traces through real simulators (sourced).
# Tejas and ChampSim are built once from the source snapshots in
# ../shared/consumers/ (beside the source tree; QEMUTRACE_CONSUMERS
# overrides) into $QEMUTRACE_BUILD/consumers/, never into the source tree.
# A missing snapshot is a failure, not a skip: CI must run these.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "sim_lib.sh: helpers only"; exit 0; }
source "$(dirname "${BASH_SOURCE[0]}")/plugin_lib.sh"

CONSUMERS=${QEMUTRACE_CONSUMERS:-$QEMUTRACE_SRC/../shared/consumers}
SIMDIR=$QEMUTRACE_BUILD/consumers
TEJAS_TGZ=$CONSUMERS/tejas-52b3a1f.tar.gz
CHAMPSIM_TGZ=$CONSUMERS/champsim-2ff2501.tar.gz

# sim_build NAME TARBALL BUILD_FUNCTION: unpacks and builds once; the stamp
# holds the tarball's checksum, so a new snapshot rebuilds. Serialised by a
# lock: several tests may ask at once.
sim_build() {
  local name=$1 tgz=$2 fn=$3 sum
  [ -f "$tgz" ] || fail "simulator snapshot $tgz not found (expected in ../shared/consumers beside the source tree, or set QEMUTRACE_CONSUMERS)"
  mkdir -p "$SIMDIR"
  sum=$(sha256sum "$tgz" | cut -d' ' -f1)
  (
    flock 9
    [ "$(cat "$SIMDIR/$name.stamp" 2>/dev/null)" = "$sum" ] && exit 0
    rm -rf "${SIMDIR:?}/$name" "$SIMDIR/$name.stamp"
    mkdir -p "$SIMDIR/$name"
    tar -xzf "$tgz" -C "$SIMDIR/$name" --strip-components=1
    ( cd "$SIMDIR/$name" && "$fn" ) >"$SIMDIR/$name.log" 2>&1 ||
      { tail -20 "$SIMDIR/$name.log" >&2; exit 1; }
    echo "$sum" >"$SIMDIR/$name.stamp"
  ) 9>"$SIMDIR/$name.lock" || fail "building $name failed (log: $SIMDIR/$name.log)"
}

# Tejas: JDK 17 rejects build.xml's Java 1.6 level; the Pin part needs
# Intel Pin and is not built.
build_tejas_here() { ant build-project -Dsource=1.8 -Dtarget=1.8; }
# ChampSim without vcpkg: absolute.options would end in a bare -isystem,
# and Debian's CLI11 is header-only (no -lCLI11).
build_champsim_here() {
  ./config.sh champsim_config.json
  echo "-I$PWD/inc" >absolute.options
  # Its own unit tests are not built, but their dependency files would be
  # generated (minutes on two cores).
  rm -rf test/cpp/src && mkdir -p test/cpp/src
  sed -i 's/-lCLI11 //' Makefile
  make -j2
}

tejas_ready() { sim_build tejas "$TEJAS_TGZ" build_tejas_here; }
champsim_ready() { sim_build champsim "$CHAMPSIM_TGZ" build_champsim_here; }

# tejas_config CORES OUT: Tejas' sample configuration set up for our files:
# no emulator, file packets, CORES cores, a bus and no NUCA (its default
# NoC needs a topology file matching the core count).
tejas_config() {
  python3 - "$SIMDIR/tejas/test_script/config.xml" "$1" "$2" <<'PY'
import re, sys
src, cores, out = sys.argv[1], sys.argv[2], sys.argv[3]
x = open(src).read()
def put(tag, val):
    global x
    x, n = re.subn(r'<%s>[^<]*</%s>' % (tag, tag), '<%s>%s</%s>' % (tag, val, tag), x)
    assert n, tag
put('EmulatorType', 'none')
put('CommunicationType', 'file')
put('NumCores', cores)
put('Interconnect', 'BUS')
put('Nuca', 'NONE')
put('PrintPowerStats', 'false')
# The sample's inOrder pipeline prints debugging lines every cycle in this
# snapshot; the out-of-order one is quiet.
put('PipelineType', 'outOfOrder')
open(out, 'w').write(x)
PY
}

# tejas_run CONFIG STATS BASE: runs Tejas on BASE_<k>.gz; its end-of-stream
# lines and exceptions in STATS.log (its full output can be large).
tejas_run() {
  local rc=0
  (cd "$SIMDIR/tejas" && timeout "$QT_DEADLINE" java -Xmx2g -cp bin main.Main "$1" "$2" "$3") 2>&1 |
    { grep -a -E 'numCISC=|Exception|^[[:space:]]+at |rror' || true; } | head -200 >"$2.log" || rc=$?
  [ "$rc" = 0 ] || { cat "$2.log" >&2; fail "Tejas exited with $rc on $3 (124: still running after $QT_DEADLINE s)"; }
  [ -s "$2" ] || { cat "$2.log" >&2; fail "Tejas did not finish on $3 (no statistics)"; }
  ! grep -aq "Exception" "$2.log" || { head -20 "$2.log" >&2; fail "Tejas threw on $3"; }
}

# tejas_translate FILES...: Tejas' translator on every distinct text
# (tejas/TejasTranslate.java): fails if a text Tejas should know does not
# translate or breaks its tokenizer; prints the summary.
tejas_translate() {
  local cls=$SIMDIR/tejas-translate
  mkdir -p "$cls"
  javac -nowarn -cp "$SIMDIR/tejas/bin" -d "$cls" "$QEMUTRACE_SRC/tests/e2e/tejas/TejasTranslate.java" ||
    fail "cannot compile TejasTranslate.java"
  java -cp "$SIMDIR/tejas/bin:$cls" TejasTranslate "$@" | grep -v '^creating' >"$T/translate.out" ||
    { cat "$T/translate.out" >&2; fail "Tejas' translator rejects our text"; }
  head -1 "$T/translate.out"
}

# tejas_stat STATS KEY: the number after "KEY = " in Tejas' statistics.
tejas_stat() { grep -a -m1 "^$2" "$1" | sed -E 's/.*=[[:space:]]*([-0-9.]+).*/\1/'; }

# champsim_run TRACE WARMUP N JSON: warms up, then simulates N instructions.
champsim_run() {
  timeout "$QT_DEADLINE" "$SIMDIR/champsim/bin/champsim" --warmup-instructions "$2" --simulation-instructions "$3" \
    --json "$4" "$1" >"$4.log" 2>&1 || { tail -20 "$4.log" >&2; fail "ChampSim failed on $1"; }
}
