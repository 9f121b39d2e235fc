#include "launcher/nested.h"

#include <fstream>

#include "launcher/util.h"

namespace qemutrace::launcher {

void check_nested(const std::string& arch, bool builtin_guest) {
  if (arch != "x86_64")
    throw LaunchError("--nested needs --arch x86_64 (the level-1 hypervisor is KVM on the guest's AMD SVM)");
  if (!builtin_guest) throw LaunchError("--nested runs in the built-in guest: give it without --kernel/--hda");
}

void append_kvm_modules(const std::string& guest_dir, const std::string& initrd) {
  std::string cpio = guest_dir + "/nested.cpio";
  std::ifstream in(cpio, std::ios::binary);
  if (!in)
    throw LaunchError("the guest in " + guest_dir +
                      " has no nested.cpio (the KVM modules): rebuild it with qemutrace guest build --force");
  std::ofstream out(initrd, std::ios::binary | std::ios::app);
  out << in.rdbuf();
  if (!out) throw LaunchError("cannot append the KVM modules to " + initrd);
}

std::vector<std::string> nested_qemu_args(const std::vector<std::string>& user_args) {
  for (const std::string& w : user_args)
    if (w == "-cpu" || w == "--cpu") return {};
  return {"-cpu", "max"};
}

}  // namespace qemutrace::launcher
