// qemutrace demo: build the built-in guest if needed, boot it with 2 cores,
// run the multi-threaded demo workload (qt-demo, ROI marked with
// qemutrace.h), trace the ROI and print the summary and what to try next.
#include <cstdio>

#include "launcher/guest.h"
#include "launcher/launch.h"
#include "launcher/summary.h"
#include "launcher/util.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string arch = "x86_64";
    std::string trace = "qemutrace-demo/demo";
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("demo", "Trace the demo workload on the built-in guest (2 cores) and summarise");
  sub->add_option("--arch", o->arch, "x86_64 or i386")->capture_default_str();
  sub->add_option("--trace", o->trace, "Trace base name")->capture_default_str();
  sub->add_flag("--quiet", o->quiet, "No live status line");
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      double t0 = now_seconds();
      LaunchPlan plan;
      plan.arch = check_arch(o->arch);
      find_qemu(plan.arch);
      plugin_path();
      std::string dir = ensure_guest(plan.arch, false, true);
      auto gargs = guest_qemu_args(plan.arch, dir);
      plan.qemu_args = {"-smp", "2", "-m", "512M"};
      plan.qemu_args.insert(plan.qemu_args.end(), gargs.begin(), gargs.end());
      plan.settings.base = absolute_path(o->trace);
      plan.settings.format = "binary";
      plan.settings.start = "marker";
      plan.settings.markers = "both";
      plan.builtin_guest = true;
      plan.quiet = o->quiet;
      plan.stdin_mode = StdinMode::Closed;
      std::printf("qemutrace demo: booting the built-in %s guest (2 cores); it runs qt-demo and the ROI between\n"
                  "its qemutrace_start(1)/qemutrace_stop(1) markers is traced into %s_<core>\n\n",
                  plan.arch.c_str(), plan.settings.base.c_str());
      std::fflush(stdout);
      int rc = execute(plan);
      std::string b = shell_quote(plan.settings.base);
      auto files = trace_files(plan.settings.base);
      std::string all;
      for (const auto& f : files) all += " " + shell_quote(f);
      if (all.empty()) all = " " + b + "_0 " + b + "_1";
      std::printf("\ndemo finished in %.1f s%s. Next, try:\n", now_seconds() - t0, rc == 0 ? "" : " (with errors)");
      std::printf("  qemutrace dump %s_0 | head -20      # the first instructions of core 0\n", b.c_str());
      std::printf("  qemutrace stats%s                   # counts, kernel/user, loads/stores\n", all.c_str());
      std::printf("  qemutrace verify%s\n", all.c_str());
      std::printf("  qemutrace run --program ./your-static-binary --trace out/t   # your own program\n");
      return rc;
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(demo, setup);
}  // namespace qemutrace::cli
