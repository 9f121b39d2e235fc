#!/usr/bin/env bash
# Facts about the built-in guest for tests that start QEMU themselves
# (sourced, not a test). The launcher knows them: the tests ask it rather
# than repeat them.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "guest_lib.sh: helpers only"; exit 0; }

# guest_append QEMUTRACE ARCH: the kernel command line the built-in guest of
# ARCH boots with, as `qemutrace guest qemu-args` prints it.
guest_append() {
  local line
  line=$("$1" guest qemu-args --arch "$2") || return 1
  python3 -c 'import shlex, sys; w = shlex.split(sys.argv[1]); print(w[w.index("-append") + 1])' "$line"
}

# guest_clock_args QEMUTRACE ARCH CLOCK: the QEMU options `run --clock CLOCK`
# adds (one per line), as `qemutrace guest qemu-args --clock` prints them.
guest_clock_args() {
  local plain with
  plain=$("$1" guest qemu-args --arch "$2") || return 1
  with=$("$1" guest qemu-args --arch "$2" --clock "$3") || return 1
  python3 -c 'import shlex, sys
p, w = shlex.split(sys.argv[1]), shlex.split(sys.argv[2])
assert w[:len(p)] == p, "qemu-args --clock changed the guest arguments"
print("\n".join(w[len(p):]))' "$plain" "$with"
}
