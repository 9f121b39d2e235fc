#!/bin/busybox sh
# /init of the qemutrace built-in guest.  Protocol: guest/README.md.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
# The kernel's built-in initramfs provides /dev/console; re-open it in case
# init started without one.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
# Bring up any CPU the kernel left offline.
for c in /sys/devices/system/cpu/cpu[0-9]*/online; do
  [ -f "$c" ] && [ "$(cat "$c")" = 0 ] && echo 1 >"$c"
done
echo "qemutrace-guest: arch=$(uname -m) kernel=$(uname -r) cpus=$(nproc)"
echo "qemutrace-guest: ready"
cd /tmp
if [ -f /qt/run.sh ]; then
  sh /qt/run.sh
  status=$?
else
  # qt.run=PROG,ARG,... on the kernel command line; commas become spaces.
  cmd=qt-demo
  for w in $(cat /proc/cmdline); do
    case $w in qt.run=?*) cmd=$(echo "${w#qt.run=}" | tr , ' ') ;; esac
  done
  # Word splitting of $cmd is intended.
  qemutrace-guest-run $cmd
  status=$?
fi
echo "qemutrace-guest: exit $status"
sync
poweroff -f
# poweroff only returns on failure; never let init exit (that panics).
echo "qemutrace-guest: poweroff failed"
while :; do sleep 3600; done
