// One traced QEMU run from start to summary, shared by `run`, `demo` and the
// legacy front end.
#pragma once

#include <string>
#include <vector>

#include "launcher/qemu.h"
#include "launcher/session.h"

namespace qemutrace::launcher {

struct LaunchPlan {
  std::string arch = "x86_64";
  std::vector<std::string> qemu_args;  // everything after the binary, without -plugin
  bool trace = true;
  TraceSettings settings;              // base/format/start/... (ctl is filled in)
  bool console = false;
  bool quiet = false;                  // no live status line
  StdinMode stdin_mode = StdinMode::Inherit;
  bool builtin_guest = false;          // expect the guest's console markers
  bool summary = true;
};

// The exit code of a run whose trace files are not complete (docs/guide.md).
constexpr int kIncompleteTraceExit = 3;

// Checks QEMU and the plugin, starts QEMU, drives it, prints the summary.
// Returns the process exit code (kIncompleteTraceExit whenever the files
// are unfinished or damaged). Throws LaunchError for set-up problems.
int execute(LaunchPlan plan);

// Lines for `-m`: "512M", "2G", "1024" (MiB). Throws LaunchError.
void check_memory_size(const std::string& m);

}  // namespace qemutrace::launcher
