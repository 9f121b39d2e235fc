#!/usr/bin/env bash
# guest/build-xen.sh [--force] [--print-qemu-args]
#
# Builds the Xen guest from Debian packages into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/qemutrace/guest/xen-x86_64/
#     xen.elf  vmlinux  stamp
# and prints that directory: Xen 4.17 (xen-hypervisor-4.17-amd64, its xen.gz
# unpacked to the ELF file QEMU's multiboot loader takes as -kernel) and
# dom0's kernel, the generic amd64 Debian kernel as an uncompressed vmlinux
# (the cloud kernel the plain guest uses has no Xen dom0 support). Dom0's
# initramfs is the built-in x86_64 guest's (build-image.sh), so the same
# programs and /init run in dom0. A no-op when the stamp is current.
# --print-qemu-args prints the QEMU command (one shell-quoted line).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
force=0 print=0
while [ $# -gt 0 ]; do
  case $1 in
    --force) force=1; shift ;;
    --print-qemu-args) print=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-xen: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qemutrace
dir=$cache/guest/xen-x86_64
base=$cache/guest/x86_64
# Xen writes its console and dom0's (hvc0) to the first serial port; dom0
# gets 512 MiB of the 1 GiB. noreboot: a crash stops instead of rebooting.
xen_append="console=com1 com1=115200,8n1 dom0_mem=512M noreboot loglvl=warning guest_loglvl=warning"
dom0_append="console=hvc0 quiet panic=-1 cryptomgr.notests mitigations=off"

if [ $print -eq 1 ]; then
  printf '%q ' qemu-system-x86_64 -cpu max -smp 2 -m 1024M -kernel "$dir/xen.elf" -append "$xen_append" \
    -initrd "$dir/vmlinux $dom0_append,$base/initrd.img"
  echo -nographic -no-reboot
  exit 0
fi

hash=$( (sha256sum "$here/build-xen.sh"; echo xen) | sha256sum | cut -c1-64)
up_to_date() {
  [ $force -eq 0 ] && [ -f "$dir/stamp" ] && grep -qx "sources=$hash" "$dir/stamp" &&
    [ -s "$dir/xen.elf" ] && [ -s "$dir/vmlinux" ]
}
# Dom0's initramfs first: it has its own stamp and lock.
bash "$here/build-image.sh" --arch x86_64 $([ $force -eq 1 ] && echo --force) >/dev/null
if up_to_date; then echo "$dir"; exit 0; fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if up_to_date; then echo "$dir"; exit 0; fi
for c in apt-get dpkg-deb gzip xz grep; do
  command -v $c >/dev/null || { echo "build-xen: $c missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The private apt state build-image.sh set up for amd64 guest packages.
aptdir=$cache/apt/amd64
apt_opts=(-o "APT::Architecture=amd64" -o "APT::Architectures=amd64"
          -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
          -o "Dir::State::status=$aptdir/status" -o Debug::NoLocking=1
          -o APT::Sandbox::User=root -o Acquire::Retries=3)
candidate() { apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n1; }
if [ -z "$(candidate xen-hypervisor-4.17-amd64 Version)" ]; then
  mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  [ -f "$aptdir/status" ] || : >"$aptdir/status"
  apt-get "${apt_opts[@]}" -qq update >"$aptdir/update.log" 2>&1 ||
    echo "build-xen: warning: apt-get update reported errors (see $aptdir/update.log); continuing" >&2
fi
kpkg=$(candidate linux-image-amd64 Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
[ -n "$kpkg" ] || { echo "build-xen: cannot resolve linux-image-amd64 to a kernel package (apt lists in $aptdir)" >&2; exit 1; }
(cd "$work" && apt-get "${apt_opts[@]}" -qq download xen-hypervisor-4.17-amd64 "$kpkg" >/dev/null) ||
  { echo "build-xen: apt-get download xen-hypervisor-4.17-amd64 $kpkg failed" >&2; exit 1; }
mkdir -p "$work/x" "$work/k"
dpkg-deb -x "$work"/xen-hypervisor-*.deb "$work/x"
dpkg-deb --fsys-tarfile "$work"/linux-image-*.deb | tar -x -C "$work/k" ./boot
xengz=$(ls "$work/x/boot/"xen-*-amd64.gz 2>/dev/null | head -n1)
vmlinuz=$(ls "$work/k/boot/"vmlinuz-* 2>/dev/null | head -n1)
[ -n "$xengz" ] || { echo "build-xen: no /boot/xen-*-amd64.gz in xen-hypervisor-4.17-amd64" >&2; exit 1; }
[ -n "$vmlinuz" ] || { echo "build-xen: no /boot/vmlinuz-* in $kpkg" >&2; exit 1; }
gzip -dc "$xengz" >"$work/xen.elf"
# A bzImage holds the kernel as one xz stream after the setup code.
off=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$vmlinuz" | cut -d: -f1)
[ -n "$off" ] || { echo "build-xen: $vmlinuz holds no xz stream (not an xz bzImage?)" >&2; exit 1; }
tail -c +$((off + 1)) "$vmlinuz" >"$work/vmlinux.xz"
xz -dc --single-stream "$work/vmlinux.xz" >"$work/vmlinux"
[ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
  { echo "build-xen: the kernel unpacked from $vmlinuz is not an ELF file" >&2; exit 1; }
rm -f "$dir/stamp"
mv "$work/xen.elf" "$dir/xen.elf"
mv "$work/vmlinux" "$dir/vmlinux"
{
  echo "sources=$hash"
  for deb in "$work"/*.deb; do dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | paste -sd' ' | sed 's/^/package=/'; done
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$dir/stamp"
echo "$dir"
