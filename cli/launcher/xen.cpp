#include "launcher/xen.h"

#include <cstdio>

#include "launcher/guest_image.h"
#include "launcher/util.h"

namespace qemutrace::launcher {

std::string xen_guest_dir() {
  std::string plain = guest_cache_dir("x86_64");
  return plain.substr(0, plain.rfind('/')) + "/xen-x86_64";
}

std::string ensure_xen_guest(bool force, bool verbose) {
  std::string dir = xen_guest_dir();
  std::string script = source_dir() + "/guest/build-xen.sh";
  if (!is_regular_file(script)) {
    if (!force && is_regular_file(dir + "/xen.elf") && is_regular_file(dir + "/vmlinux")) return dir;
    throw LaunchError("guest script not found: " + script + " (set QEMUTRACE_SRC to the qemutrace source tree)");
  }
  if (verbose && (force || !is_regular_file(dir + "/stamp")))
    std::fprintf(stderr, "qemutrace: building the Xen guest in %s (first time: a few minutes)\n", dir.c_str());
  std::vector<std::string> argv = {"bash", script};
  if (force) argv.push_back("--force");
  std::string out;
  int rc = run_capture(argv, &out, nullptr);
  if (rc != 0) throw LaunchError("building the Xen guest failed (guest/build-xen.sh exit " + std::to_string(rc) + ")");
  if (!is_regular_file(dir + "/xen.elf") || !is_regular_file(dir + "/vmlinux"))
    throw LaunchError("the Xen guest build left no xen.elf/vmlinux in " + dir);
  return dir;
}

std::vector<std::string> xen_qemu_args(const std::string& initrd) {
  std::vector<std::string> a = qemu_args_without_machine_size(script_qemu_command("build-xen.sh", {}));
  if (a.empty()) throw LaunchError("guest/build-xen.sh --print-qemu-args gave no command");
  // Multiboot modules: "KERNEL ARGS,INITRD"; QEMU splits them at commas.
  if (initrd.find(',') != std::string::npos)
    throw LaunchError("initrd path '" + initrd + "' contains a comma, which Xen's module list cannot carry");
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "-initrd") a[i + 1] = a[i + 1].substr(0, a[i + 1].rfind(',') + 1) + initrd;
  return a;
}

}  // namespace qemutrace::launcher
