// qemutrace run: boot a guest under QEMU with the tracer loaded.
//   built-in guest + your program:  --program FILE [--args "..."]
//   your own kernel:                --kernel K [--initrd I] [--append "..."]
//   your own disk image:            --hda IMG
#include "guest_options.h"
#include "launcher/clock.h"
#include "launcher/launch.h"
#include "launcher/util.h"
#include "subcommand.h"
#include "trace_options.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;

struct RunOptions {
  GuestOptions guest;
  TraceOptions trace;
  std::string clock = "host";
  bool console = false, quiet = false;
};

int run_command(const RunOptions& o) {
  LaunchPlan plan;
  plan.settings = trace_settings(o.trace);
  plan.settings.plugin_quiet = o.quiet;
  std::vector<std::string> clock_args = clock_qemu_args(o.clock, o.guest.qemu_args);
  GuestCommand g = guest_command(o.guest);
  plan.arch = g.arch;
  plan.qemu_args = g.qemu_args;
  plan.qemu_args.insert(plan.qemu_args.end(), clock_args.begin(), clock_args.end());
  plan.builtin_guest = g.builtin_guest;
  plan.settings.extra.insert(plan.settings.extra.end(), g.plugin_options.begin(), g.plugin_options.end());
  plan.console = o.console;
  plan.quiet = o.quiet;
  plan.stdin_mode = plan.builtin_guest ? StdinMode::Closed : StdinMode::Inherit;
  return execute(plan);
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "Boot a guest under QEMU and trace it");
  add_guest_options(sub, o->guest);
  add_trace_options(sub, o->trace);
  sub->add_option("--clock", o->clock,
                  "Guest clock: host (QEMU's default) or virtual (time advances with instructions: "
                  "-icount, one vCPU thread; see docs/guide.md)")
      ->capture_default_str();
  sub->add_flag("--console", o->console, "Interactive console: qqq_* commands and QEMU's monitor");
  sub->add_flag("--quiet", o->quiet, "No live status line");
  sub->footer(
      "Examples:\n"
      "  qemutrace run --program ./myprog --args '-n 10' --trace out/t\n"
      "  qemutrace run --program qt-loop --args 1000000 --format file --trace out/t\n"
      "  qemutrace run --program qt-loop --args 1000000 --clock virtual --trace out/t\n"
      "  qemutrace run --hda disk.img --start console --console --trace out/t\n"
      "  qemutrace run --xen --program qt-loop --args 1000000 --trace out/t\n");
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      return run_command(*o);
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(run, setup);
}  // namespace qemutrace::cli
