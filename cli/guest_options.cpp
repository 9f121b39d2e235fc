#include "guest_options.h"

#include "launcher/guest_arch.h"
#include "launcher/guest_image.h"
#include "launcher/launch.h"
#include "launcher/nested.h"
#include "launcher/qemu.h"
#include "launcher/xen.h"

namespace qemutrace::cli {

using namespace qemutrace::launcher;

namespace {
bool has_display_option(const std::vector<std::string>& a) {
  for (const auto& w : a)
    if (w == "-nographic" || w == "-display" || w == "-vnc" || w == "--nographic" || w == "--display" ||
        w == "-curses" || w == "-sdl")
      return true;
  return false;
}
}  // namespace

void add_guest_options(CLI::App* sub, GuestOptions& o) {
  sub->add_option("--arch", o.arch, "Guest ISA: " + guest_arch_choices())->capture_default_str();
  sub->add_option("--smp", o.smp, "Number of guest cores")->capture_default_str();
  sub->add_option("-m,--memory", o.mem, "Guest RAM (QEMU -m)")->capture_default_str();
  sub->add_option("--program", o.program, "Run FILE (or a built-in program such as qt-loop) in the built-in guest");
  sub->add_option("--args", o.args, "Arguments of --program, one shell-quoted string");
  sub->add_option("--kernel", o.kernel, "Your own kernel");
  sub->add_option("--initrd", o.initrd, "Initrd for --kernel");
  sub->add_option("--append", o.append, "Kernel command line for --kernel (default console=ttyS0; aarch64: ttyAMA0)");
  sub->add_option("--hda", o.hda, "Your own disk image");
  sub->add_flag("--xen", o.xen, "Boot the built-in guest as dom0 under Xen 4.17 (x86_64; docs/guide.md, Hypervisors)");
  sub->add_flag("--nested", o.nested,
                "Load kvm_amd in the built-in x86_64 guest and run a level-2 guest through /dev/kvm "
                "(--program defaults to qt-nested)");
  sub->add_option("qemu_args", o.qemu_args, "-- QEMU_ARGS... passed to QEMU unchanged");
}

GuestCommand guest_command(const GuestOptions& o) {
  GuestCommand g;
  g.arch = check_arch(o.arch);
  if (o.smp < 1 || o.smp > 255) throw LaunchError("bad --smp value '" + std::to_string(o.smp) + "': expected 1..255");
  check_memory_size(o.mem);
  if (!o.program.empty() && (!o.kernel.empty() || !o.hda.empty()))
    throw LaunchError("--program runs in the built-in guest: give it without --kernel/--hda");
  if (o.nested) check_nested(g.arch, o.kernel.empty() && o.hda.empty());
  if (!o.args.empty() && o.program.empty() && !o.nested) throw LaunchError("--args needs --program");
  if ((!o.initrd.empty() || !o.append.empty()) && o.kernel.empty()) throw LaunchError("--initrd/--append need --kernel");

  if (o.xen && (!o.kernel.empty() || !o.hda.empty())) throw LaunchError("--xen boots the built-in guest: give it without --kernel/--hda");
  if (o.xen && o.nested) throw LaunchError("--xen and --nested are two different hypervisors: give one");
  if (o.xen && g.arch != "x86_64") throw LaunchError("--xen needs --arch x86_64 (Xen no longer has a 32-bit hypervisor)");

  auto& a = g.qemu_args;
  a = {"-smp", std::to_string(o.smp), "-m", o.xen && o.mem == GuestOptions{}.mem ? kXenMemory : o.mem};
  const GuestArch& ga = *find_guest_arch(g.arch);
  if ((!o.kernel.empty() || !o.hda.empty()) && !chooses_machine(o.qemu_args))
    a.insert(a.end(), ga.machine_args.begin(), ga.machine_args.end());
  if (!o.kernel.empty()) {
    if (!is_regular_file(o.kernel)) throw LaunchError("kernel not found: " + o.kernel);
    if (!o.initrd.empty() && !is_regular_file(o.initrd)) throw LaunchError("initrd not found: " + o.initrd);
    a.insert(a.end(), {"-kernel", o.kernel});
    if (!o.initrd.empty()) a.insert(a.end(), {"-initrd", o.initrd});
    a.insert(a.end(), {"-append", o.append.empty() ? "console=" + ga.console : o.append});
  }
  if (!o.hda.empty()) {
    if (!file_exists(o.hda)) throw LaunchError("disk image not found: " + o.hda);
    a.insert(a.end(), {"-hda", o.hda});
  }
  if (!o.kernel.empty() || !o.hda.empty()) {
    if (!has_display_option(o.qemu_args)) a.push_back("-nographic");
  } else {
    // The built-in guest; with --program, FILE becomes its workload.
    if (!o.program.empty() && o.program.find('/') != std::string::npos && !is_regular_file(o.program))
      throw LaunchError("program not found: " + o.program);
    if (!o.program.empty() && is_regular_file(o.program) && is_dynamic_elf(o.program))
      throw LaunchError(o.program + " is dynamically linked; the built-in guest has no shared libraries: link it with -static");
    std::string dir = o.xen ? ensure_xen_guest(false, true) : ensure_guest(g.arch, false, true);
    if (o.xen) dir = guest_cache_dir(g.arch);  // dom0's initramfs and programs
    std::string initrd = dir + "/initrd.img";
    std::string program = o.nested && o.program.empty() ? kNestedProgram : o.program;
    if (!program.empty()) {
      std::string prog = resolve_program(program, dir);
      g.work = std::make_unique<TempDir>();
      initrd = make_workload_initrd(dir, prog, shell_split(o.args), g.work->path());
      if (o.nested) append_kvm_modules(dir, initrd);
    }
    auto gargs = o.xen ? xen_qemu_args(initrd) : guest_qemu_args(g.arch);
    if (!o.xen)
      for (size_t i = 0; i + 1 < gargs.size(); ++i)
        if (gargs[i] == "-initrd") gargs[i + 1] = initrd;
    if (o.xen) g.plugin_options.push_back(kXenLevels);
    if (o.nested) g.plugin_options.push_back(kNestedLevels);
    a.insert(a.end(), gargs.begin(), gargs.end());
    if (o.nested) {
      auto cpu = nested_qemu_args(o.qemu_args);
      a.insert(a.end(), cpu.begin(), cpu.end());
    }
    g.builtin_guest = true;
  }
  a.insert(a.end(), o.qemu_args.begin(), o.qemu_args.end());
  for (size_t i = 0; i + 1 < a.size(); ++i) {
    if (a[i] == "-kernel") g.kernel_value = int(i + 1);
    if (a[i] == "-initrd") g.initrd_value = int(i + 1);
  }
  return g;
}

}  // namespace qemutrace::cli
