#!/usr/bin/env bash
# guest/build-image.sh --arch x86_64|i386|aarch64 [--force] [--print-qemu-args]
#
# Builds the built-in qemutrace guest from Debian packages into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/qemutrace/guest/<arch>/
#     vmlinuz  initrd.img  programs/  stamp
# and prints that directory.  A no-op when the stamp matches the guest/
# sources.  Downloaded kernel/busybox packages are kept and reused; --force
# re-resolves and re-downloads them too.
# --print-qemu-args prints the recommended QEMU command (one shell-quoted
# line) for the cached image and builds nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=x86_64 force=0 print=0
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --arch=*) arch=${1#*=}; shift ;;
    --force) force=1; shift ;;
    --print-qemu-args) print=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "build-image: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# machine: QEMU options that pick the board and CPU (x86 uses the defaults).
# aarch64: the `virt` board, the newest CPU QEMU models, with the cheap
# implementation-defined pointer-authentication algorithm (QARMA, the default,
# costs TCG a lot on every signed return); console on the PL011 UART ttyAMA0.
case $arch in
  x86_64) debarch=amd64 kmeta=linux-image-cloud-amd64 qemu=qemu-system-x86_64 machine=()
    append="console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off no_timer_check" ;;
  i386) debarch=i386 kmeta=linux-image-686 qemu=qemu-system-i386 machine=()
    append="console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off no_timer_check noisapnp" ;;
  aarch64) debarch=arm64 kmeta=linux-image-cloud-arm64 qemu=qemu-system-aarch64
    machine=(-M virt -cpu max,pauth-impdef=on)
    append="console=ttyAMA0 quiet panic=-1 cryptomgr.notests mitigations=off" ;;
  *) echo "build-image: unsupported arch '$arch' (x86_64, i386 or aarch64)" >&2; exit 2 ;;
esac
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qemutrace
dir=$cache/guest/$arch

if [ $print -eq 1 ]; then
  printf '%q ' "$qemu" "${machine[@]}" -smp 2 -m 512M -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" -append "$append"
  echo -nographic -no-reboot
  exit 0
fi

# Inputs of the image: every file under guest/ plus the arch.
hash=$( (cd "$here" && find . -type f ! -name '*~' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "$arch") | sha256sum | cut -c1-64)
up_to_date() {
  [ $force -eq 0 ] && [ -f "$dir/stamp" ] && grep -qx "sources=$hash" "$dir/stamp" &&
    [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ]
}
if up_to_date; then echo "$dir"; exit 0; fi
# Tests may build the same image concurrently: one builder at a time, and
# whoever waited re-checks the stamp.
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if up_to_date; then echo "$dir"; exit 0; fi

need() { # need COMMAND PACKAGE: installs PACKAGE when COMMAND is missing
  command -v "$1" >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || { echo "build-image: $1 missing; run as root: apt-get install $2" >&2; exit 1; }
  echo "build-image: installing $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null ||
    { echo "build-image: apt-get install $2 failed" >&2; exit 1; }
}
need apt-get apt
need dpkg-deb dpkg
need cpio cpio
need gzip gzip

pkgdir=$dir/pkgs          # unpacked kernel and busybox, reused across rebuilds
work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A private apt state for guest packages: the target arch may not be
# configured on the host, and a failing foreign index (e.g. bookworm-security
# mid-sync) must not break the host's apt.  Sources come from the host.
aptdir=$cache/apt/$debarch
apt_opts=(-o "APT::Architecture=$debarch" -o "APT::Architectures=$debarch"
          -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
          -o "Dir::State::status=$aptdir/status" -o Debug::NoLocking=1
          -o APT::Sandbox::User=root -o Acquire::Retries=3)
apt_update() {
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  : >"$aptdir/status"
  # Tolerated: one failing index (typically security) still leaves the rest.
  apt-get "${apt_opts[@]}" -qq update >"$aptdir/update.log" 2>&1 ||
    echo "build-image: warning: apt-get update for $debarch reported errors (see $aptdir/update.log); continuing" >&2
}
candidate() { # candidate PKG FIELD
  apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n1
}

# x86_64 also keeps the KVM modules of its kernel (nested.cpio, below).
kvm_mods="virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd"
have_kvm() { [ "$arch" != x86_64 ] || [ -f "$pkgdir/kvm/kvm-amd.ko" ]; }
if [ $force -eq 1 ] || [ ! -f "$pkgdir/versions" ] || ! have_kvm; then
  rm -rf "$pkgdir"
  if [ $force -eq 1 ] || [ ! -d "$aptdir/lists" ] || [ -z "$(candidate "$kmeta" Version)" ]; then
    apt_update
  fi
  # The kernel metapackage only depends on the versioned image package.
  kpkg=$(candidate "$kmeta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
  [ -n "$kpkg" ] || { echo "build-image: cannot resolve $kmeta:$debarch to a kernel package (apt lists in $aptdir)" >&2; exit 1; }
  mkdir -p "$dir/debs"
  rm -f "$dir/debs"/*.deb
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "$kpkg" busybox-static >/dev/null) ||
    { echo "build-image: apt-get download $kpkg busybox-static ($debarch) failed" >&2; exit 1; }
  mkdir -p "$work/pkgs"
  for deb in "$dir/debs"/*.deb; do dpkg-deb -x "$deb" "$work/pkgs"; done
  mkdir -p "$work/pkgnew"
  vml=$(ls "$work/pkgs/boot/"vmlinuz-* 2>/dev/null | head -n1)
  [ -n "$vml" ] || { echo "build-image: no /boot/vmlinuz-* in $kpkg" >&2; exit 1; }
  [ -x "$work/pkgs/bin/busybox" ] || { echo "build-image: no /bin/busybox in busybox-static" >&2; exit 1; }
  cp "$vml" "$work/pkgnew/vmlinuz"
  cp "$work/pkgs/bin/busybox" "$work/pkgnew/busybox"
  if [ "$arch" = x86_64 ]; then
    mkdir -p "$work/pkgnew/kvm"
    for m in $kvm_mods; do
      ko=$(ls "$work/pkgs/lib/modules/"*/kernel/$m.ko 2>/dev/null | head -n1)
      [ -n "$ko" ] || { echo "build-image: no $m.ko in $kpkg" >&2; exit 1; }
      cp "$ko" "$work/pkgnew/kvm/"
    done
  fi
  for deb in "$dir/debs"/*.deb; do dpkg-deb -f "$deb" Package Version Architecture | sed 's/^[^:]*: //' | paste -sd' '; done >"$work/pkgnew/versions"
  mv "$work/pkgnew" "$pkgdir"
fi
rm -rf "$dir/debs"   # the kernel .deb is mostly modules we never use

# Programs.
bash "$here/build-programs.sh" --arch "$arch" "$work/programs" >&2

# Initramfs tree (owner root via cpio -R, so no root needed).
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,qt}
cp "$pkgdir/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init.sh" "$root/init"
cp "$work/programs"/* "$root/bin/"
chmod 0755 "$root/init" "$root/bin"/*
rmdir "$root/qt"   # /qt comes from an appended workload cpio
# Fixed mtimes and inode numbers: the kernel parses every cpio header, so an
# image built on another day or machine would run other instructions.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -6 -n >"$work/initrd.img"
# Zero-pad to 512 bytes: the kernel only accepts an uncompressed cpio
# appended after a compressed one at a 4-byte aligned offset, and skips zeros.
size=$(stat -c %s "$work/initrd.img")
head -c $(( (512 - size % 512) % 512 )) /dev/zero >>"$work/initrd.img"

# nested.cpio (x86_64): the KVM modules, in load order, under
# /lib/modules/qemutrace, for `qemutrace run --nested` to append; the default
# initrd stays without them, so other runs unpack nothing more.
if [ "$arch" = x86_64 ]; then
  mkdir -p "$work/nested/lib/modules/qemutrace"
  cp "$pkgdir/kvm/"*.ko "$work/nested/lib/modules/qemutrace/"
  find "$work/nested" -exec touch -h -d @0 {} +
  (cd "$work/nested" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) >"$work/nested.cpio"
fi

# Publish atomically-ish: stamp last, so an interrupted build is redone.
rm -f "$dir/stamp"
if [ -f "$work/nested.cpio" ]; then mv "$work/nested.cpio" "$dir/nested.cpio"; fi
cp "$pkgdir/vmlinuz" "$dir/vmlinuz"
mv "$work/initrd.img" "$dir/initrd.img"
rm -rf "$dir/programs"
mv "$work/programs" "$dir/programs"
{
  echo "sources=$hash"
  echo "arch=$arch"
  sed 's/^/package=/' "$pkgdir/versions"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$dir/stamp"
echo "$dir"
