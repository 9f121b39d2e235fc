// What differs between the guest ISAs the launcher boots: QEMU's binary and
// the Debian package holding it, the board and CPU options, the console.
#pragma once

#include <string>
#include <vector>

namespace qemutrace::launcher {

struct GuestArch {
  std::string name;                       // "aarch64": qemu-system-<name>
  std::vector<std::string> aliases;       // "arm64"
  std::string qemu_package;               // Debian package with qemu-system-<name>
  std::vector<std::string> machine_args;  // board and CPU; empty = QEMU's default PC
  std::string console;                    // the kernel's serial console device
  bool legacy_markers;                    // int $100/$101 exist (x86)
};

// Every ISA the launcher boots, x86_64 first (the default).
const std::vector<GuestArch>& guest_arches();

// The ISA named NAME or one of its aliases; nullptr if none.
const GuestArch* find_guest_arch(const std::string& name);

// "x86_64, i386 or aarch64": for messages.
std::string guest_arch_choices();

// True if ARGS already choose a board (-M/-machine), so machine_args must
// not be added again.
bool chooses_machine(const std::vector<std::string>& args);

}  // namespace qemutrace::launcher
