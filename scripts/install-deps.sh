#!/usr/bin/env bash
# Installs everything qemutrace needs on Debian 12: QEMU >= 10.0 from
# bookworm-backports (with deb-src, for the plugin header), build and test
# libraries, the tools the guest image builder uses, and what the tests need
# to build Tejas and ChampSim.
# --arch aarch64 adds what the aarch64 guest needs: qemu-system-aarch64 and
# the cross compiler for its programs (`make test` asks for it).
# Idempotent; quick when nothing is missing.
set -euo pipefail

PKGS=(build-essential cmake pkg-config ninja-build dpkg-dev cpio xz-utils zstd zlib1g-dev libtomlplusplus-dev
      libzstd-dev liblzma-dev libzydis-dev libcapstone-dev libcli11-dev nlohmann-json3-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libglib2.0-dev
      clang libclang-rt-14-dev gcc-i686-linux-gnu python3 valgrind
      # the Python reader (python/) and its tests
      python3-dev pybind11-dev python3-numpy python3-pytest python3-setuptools python3-wheel
      # <linux/kvm.h> for the guest's nested-virtualisation launcher (qt-nested)
      linux-libc-dev
      # pip install from the repository into a venv, offline (tests/python/pip_install.sh)
      python3-venv python3-pip
      # the simulators tests/e2e/simulators.sh builds from ../shared/consumers:
      # Tejas (Java, ant) and ChampSim (fmt, CLI11, nlohmann-json, bz2, lzma, zlib)
      default-jdk-headless ant libbz2-dev
      # the report tests load the page in headless Chromium (tests/browser_page.py)
      chromium chromium-driver
      # tests/e2e/campaign.sh: a private single-node Slurm (slurm-wlm: slurmctld, slurmd, client)
      munge slurmctld slurmd slurm-client)
QEMU_PKGS=(qemu-system-x86)
QEMU_BINS=(qemu-system-x86_64)
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:-}; shift 2 || { echo "install-deps: --arch needs a value (aarch64)" >&2; exit 2; } ;;
    --arch=*) arch=${1#*=}; shift ;;
    *) echo "install-deps: unknown argument '$1' (only --arch aarch64)" >&2; exit 2 ;;
  esac
  case $arch in
    x86_64|i386) ;;  # always installed
    aarch64|arm64) PKGS+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross); QEMU_PKGS+=(qemu-system-arm)
      QEMU_BINS+=(qemu-system-aarch64) ;;
    *) echo "install-deps: unknown --arch '$arch' (x86_64, i386 or aarch64)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: not root and no sudo; run as root: apt-get install ${PKGS[*]}" >&2; exit 1; fi
fi

have_all() {
  local missing
  missing=$(dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -vc 'install ok installed' || true)
  [ "$(dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -c 'install ok installed' || true)" = "${#PKGS[@]}" ] || return 1
  [ "${missing:-0}" = 0 ] || return 1
  local q v
  for q in "${QEMU_BINS[@]}"; do
    command -v "$q" >/dev/null || return 1
    v=$("$q" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p;q')
    [ "${v:-0}" -ge 10 ] || return 1
  done
  ls /etc/apt/sources.list.d/qemutrace-backports.sources >/dev/null 2>&1 || return 1
}

if have_all; then exit 0; fi

SRC=/etc/apt/sources.list.d/qemutrace-backports.sources
if [ ! -f "$SRC" ]; then
  echo "install-deps: enabling bookworm-backports (deb, deb-src) in $SRC"
  $SUDO tee "$SRC" >/dev/null <<'EOT'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "install-deps: warning: apt-get update reported errors; continuing" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${QEMU_PKGS[@]}"
v=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p;q')
echo "install-deps: QEMU $v ready"
