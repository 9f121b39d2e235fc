#include "launcher/guest_arch.h"

namespace qemutrace::launcher {

// aarch64: QEMU's `virt` board has no default CPU worth tracing; `max` is the
// newest the TCG models, with the implementation-defined pointer
// authentication (QARMA5, the default, makes every signed return costly).
const std::vector<GuestArch>& guest_arches() {
  static const std::vector<GuestArch> all = {
      {"x86_64", {"amd64", "x86-64"}, "qemu-system-x86", {}, "ttyS0", true},
      {"i386", {"i686", "x86"}, "qemu-system-x86", {}, "ttyS0", true},
      {"aarch64", {"arm64"}, "qemu-system-arm", {"-M", "virt", "-cpu", "max,pauth-impdef=on"}, "ttyAMA0", false},
  };
  return all;
}

const GuestArch* find_guest_arch(const std::string& name) {
  for (const GuestArch& a : guest_arches()) {
    if (a.name == name) return &a;
    for (const std::string& alias : a.aliases)
      if (alias == name) return &a;
  }
  return nullptr;
}

std::string guest_arch_choices() {
  std::string s;
  const auto& all = guest_arches();
  for (size_t i = 0; i < all.size(); ++i)
    s += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i].name;
  return s;
}

bool chooses_machine(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "-M" || a == "-machine" || a == "--machine") return true;
  return false;
}

}  // namespace qemutrace::launcher
