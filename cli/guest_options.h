// The guest options shared by `run` and `record` (which guest, its cores and
// memory, extra QEMU options) and the QEMU command line they give.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "launcher/util.h"

namespace qemutrace::cli {

struct GuestOptions {
  std::string arch = "x86_64";
  int smp = 2;
  std::string mem = "512M";
  std::string program, args, kernel, initrd, append, hda;
  std::vector<std::string> qemu_args;  // after --, unchanged
  bool xen = false;  // the built-in guest as dom0 under Xen (launcher/xen.h)
  bool nested = false;  // --nested (launcher/nested.h)
};

// Registers --arch, --smp, -m, --program, --args, --kernel, --initrd,
// --append, --hda, --nested and the trailing QEMU options on `sub`.
void add_guest_options(CLI::App* sub, GuestOptions& o);

// The guest's QEMU command line (after the binary; no -plugin, no clock).
struct GuestCommand {
  std::string arch;
  std::vector<std::string> qemu_args;
  bool builtin_guest = false;
  // Indices in qemu_args of the -kernel and -initrd values (or -1).
  int kernel_value = -1, initrd_value = -1;
  std::unique_ptr<launcher::TempDir> work;  // holds a workload initrd
  std::vector<std::string> plugin_options;  // key=value the guest needs (Xen: its level rule)
};

// Checks the options (LaunchError names a bad one) and builds the command
// line, building the built-in guest if needed.
GuestCommand guest_command(const GuestOptions& o);

}  // namespace qemutrace::cli
