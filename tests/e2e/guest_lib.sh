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
