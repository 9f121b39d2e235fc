#!/usr/bin/env bash
# Puts QEMU's qemu-plugin.h into OUT_DIR, taken from the Debian source package
# of the QEMU in use (never copied into this repository).
# Usage: fetch-plugin-header.sh OUT_DIR
set -euo pipefail
out=${1:?usage: fetch-plugin-header.sh OUT_DIR}
[ -f "$out/qemu-plugin.h" ] && exit 0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qemutrace/qemu-src
mkdir -p "$cache" "$out"
tarball=$(ls "$cache"/qemu_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$tarball" ]; then
  # The .dsc of a backport may be gone from the mirror while the orig tarball
  # it shares with the release is present, so only the tarball is required.
  (cd "$cache" && apt-get source --download-only -qq qemu/bookworm-backports >/dev/null 2>&1 || true)
  tarball=$(ls "$cache"/qemu_*.orig.tar.* 2>/dev/null | sort -V | tail -n1 || true)
fi
if [ -z "$tarball" ]; then
  echo "fetch-plugin-header: cannot download QEMU's source package (need a deb-src line for bookworm-backports; run scripts/install-deps.sh)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$tarball" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
cp "$tmp"/*/include/qemu/qemu-plugin.h "$out/qemu-plugin.h"
grep -q 'QEMU_PLUGIN_VERSION' "$out/qemu-plugin.h" || { echo "fetch-plugin-header: extracted header has no QEMU_PLUGIN_VERSION" >&2; exit 1; }
