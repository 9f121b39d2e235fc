// qemutrace guest build --arch x86_64|i386|aarch64 [--force]: build (or find in the
// cache) the built-in guest: a Debian kernel and a busybox initramfs with the
// qemutrace guest programs. Wraps guest/build-image.sh.
#include <cstdio>

#include "launcher/clock.h"
#include "launcher/guest_arch.h"
#include "launcher/guest_image.h"
#include "launcher/qemu.h"
#include "launcher/util.h"
#include "launcher/xen.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string arch = "x86_64";
    bool force = false;
    bool xen = false;
    std::string clock = "host";
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("guest", "The built-in guest (kernel + initramfs from Debian packages)");
  sub->require_subcommand(1);
  auto* build = sub->add_subcommand("build", "Build the guest into ~/.cache/qemutrace/guest/<arch> and print the dir");
  build->add_option("--arch", o->arch, guest_arch_choices())->capture_default_str();
  build->add_flag("--force", o->force, "Rebuild even if cached (re-downloads the packages)");
  build->add_flag("--xen", o->xen, "Build the Xen guest (Xen 4.17 with dom0 = the x86_64 guest) into ~/.cache/qemutrace/guest/xen-x86_64");
  auto* args = sub->add_subcommand("qemu-args", "Print the QEMU arguments that boot the cached guest");
  args->add_option("--arch", o->arch, guest_arch_choices())->capture_default_str();
  args->add_option("--clock", o->clock, "host or virtual: also print the QEMU options of run's --clock")->capture_default_str();
  return [o, sub, build, args]() -> int {
    if (!sub->parsed()) return 0;
    try {
      std::string arch = check_arch(o->arch);
      if (build->parsed()) {
        if (o->xen && arch != "x86_64") throw LaunchError("--xen needs --arch x86_64 (Xen no longer has a 32-bit hypervisor)");
        std::string dir = o->xen ? ensure_xen_guest(o->force, true) : ensure_guest(arch, o->force, true);
        std::printf("%s\n", dir.c_str());
        return 0;
      }
      if (args->parsed()) {
        auto a = guest_qemu_args(arch);
        auto c = clock_qemu_args(o->clock, a);
        a.insert(a.end(), c.begin(), c.end());
        std::printf("qemu-system-%s %s\n", arch.c_str(), join_command(a).c_str());
        return 0;
      }
      return 2;
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(guest, setup);
}  // namespace qemutrace::cli
