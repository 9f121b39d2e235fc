// The Xen guest (guest/build-xen.sh): Xen 4.17 booted by QEMU's multiboot
// loader, with dom0 running the built-in x86_64 guest's initramfs, so
// --program runs in dom0 as it runs in the plain guest.
#pragma once

#include <string>
#include <vector>

namespace qemutrace::launcher {

// ${XDG_CACHE_HOME:-~/.cache}/qemutrace/guest/xen-x86_64
std::string xen_guest_dir();

// Builds the Xen guest (and the x86_64 guest it takes dom0's initramfs
// from) if needed and returns its directory. Throws LaunchError.
std::string ensure_xen_guest(bool force, bool verbose);

// QEMU arguments without the binary, -smp and -m, booting Xen with dom0's
// initramfs `initrd` (the cached one, or one with a workload appended).
std::vector<std::string> xen_qemu_args(const std::string& initrd);

// Memory Xen needs when the user keeps the default (dom0 takes 512 MiB).
inline constexpr const char* kXenMemory = "1024M";

// The level rule the tracer applies to a Xen run (plugin option levels=).
inline constexpr const char* kXenLevels = "levels=xen";

}  // namespace qemutrace::launcher
