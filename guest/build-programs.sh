#!/usr/bin/env bash
# guest/build-programs.sh --arch x86_64|i386 OUTDIR [NAME...]
# Builds the static guest test programs and qemutrace-guest-run into OUTDIR;
# with NAMEs, only those (the build puts qemutrace-guest-run in build/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=x86_64 out= names=()
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:?}; shift 2 ;;
    --arch=*) arch=${1#*=}; shift ;;
    -*) echo "build-programs: unknown option $1" >&2; exit 2 ;;
    *) if [ -z "$out" ]; then out=$1; else names+=("$1"); fi; shift ;;
  esac
done
[ -n "$out" ] || { echo "usage: build-programs.sh --arch x86_64|i386 OUTDIR [NAME...]" >&2; exit 2; }
case $arch in
  x86_64) cc=${CC_X86_64:-gcc} ;;
  i386) cc=${CC_I386:-i686-linux-gnu-gcc} ;;
  *) echo "build-programs: unsupported arch '$arch' (x86_64 or i386)" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null || { echo "build-programs: compiler $cc not found (apt-get install $([ "$arch" = i386 ] && echo gcc-i686-linux-gnu || echo gcc))" >&2; exit 1; }
# gcc-i686-linux-gnu only recommends its libc headers; install-deps.sh skips
# recommends, so fetch them here when missing.
if [ "$arch" = i386 ] && [ ! -e /usr/i686-linux-gnu/include/stdio.h ]; then
  [ "$(id -u)" -eq 0 ] || { echo "build-programs: i386 libc headers missing; run as root: apt-get install libc6-dev-i386-cross" >&2; exit 1; }
  echo "build-programs: installing libc6-dev-i386-cross" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libc6-dev-i386-cross >/dev/null ||
    { echo "build-programs: apt-get install libc6-dev-i386-cross failed" >&2; exit 1; }
fi
mkdir -p "$out"
# -O2 for realistic code; the ROI bodies that tests count are inline asm, so
# their instruction counts do not depend on the optimiser.
cflags=(-static -O2 -g -Wall -Wextra -Werror -std=gnu11 -pthread)
srcs=("$here"/programs/*.c "$here"/qemutrace-guest-run.c)
if [ ${#names[@]} -gt 0 ]; then
  srcs=()
  for name in "${names[@]}"; do
    if [ -f "$here/programs/$name.c" ]; then srcs+=("$here/programs/$name.c")
    elif [ -f "$here/$name.c" ]; then srcs+=("$here/$name.c")
    else echo "build-programs: no program named $name (guest/programs/$name.c)" >&2; exit 2
    fi
  done
fi
for src in "${srcs[@]}"; do
  name=$(basename "$src" .c)
  "$cc" "${cflags[@]}" -o "$out/$name.tmp" "$src" || { echo "build-programs: failed to compile $name for $arch" >&2; exit 1; }
  mv "$out/$name.tmp" "$out/$name"
done
