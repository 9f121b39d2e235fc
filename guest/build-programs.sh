#!/usr/bin/env bash
# guest/build-programs.sh --arch x86_64|i386|aarch64 OUTDIR [NAME...]
# Builds the static guest test programs and qemutrace-guest-run into OUTDIR;
# with NAMEs, only those (the build puts qemutrace-guest-run in build/bin).
# A program whose source has a line `qt-arch: A B...` is built for those
# arches only (the legacy-marker ones are x86-only).
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
[ -n "$out" ] || { echo "usage: build-programs.sh --arch x86_64|i386|aarch64 OUTDIR [NAME...]" >&2; exit 2; }
# cross: the target's libc headers, which the cross compiler only recommends.
case $arch in
  x86_64) cc=${CC_X86_64:-gcc} ccpkg=gcc cross= ;;
  i386) cc=${CC_I386:-i686-linux-gnu-gcc} ccpkg=gcc-i686-linux-gnu cross=i686-linux-gnu:libc6-dev-i386-cross ;;
  aarch64) cc=${CC_AARCH64:-aarch64-linux-gnu-gcc} ccpkg=gcc-aarch64-linux-gnu cross=aarch64-linux-gnu:libc6-dev-arm64-cross ;;
  *) echo "build-programs: unsupported arch '$arch' (x86_64, i386 or aarch64)" >&2; exit 2 ;;
esac
command -v "$cc" >/dev/null || { echo "build-programs: compiler $cc not found (apt-get install $ccpkg)" >&2; exit 1; }
# install-deps.sh skips recommends, so fetch the libc headers here when missing.
if [ -n "$cross" ] && [ ! -e "/usr/${cross%%:*}/include/stdio.h" ]; then
  hdr=${cross#*:}
  [ "$(id -u)" -eq 0 ] || { echo "build-programs: $arch libc headers missing; run as root: apt-get install $hdr" >&2; exit 1; }
  echo "build-programs: installing $hdr" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$hdr" >/dev/null ||
    { echo "build-programs: apt-get install $hdr failed" >&2; exit 1; }
fi
# for_arch SRC: the program's `qt-arch:` line (if any) names $arch.
for_arch() {
  local line
  line=$(grep -m1 -o 'qt-arch:[^(*]*' "$1" || true)
  [ -z "$line" ] || [[ " ${line#qt-arch:} " == *" $arch "* ]]
}
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
    for_arch "${srcs[-1]}" || { echo "build-programs: $name is not built for $arch (its qt-arch: line)" >&2; exit 2; }
  done
fi
for src in "${srcs[@]}"; do
  for_arch "$src" || continue
  name=$(basename "$src" .c)
  "$cc" "${cflags[@]}" -o "$out/$name.tmp" "$src" || { echo "build-programs: failed to compile $name for $arch" >&2; exit 1; }
  mv "$out/$name.tmp" "$out/$name"
done
