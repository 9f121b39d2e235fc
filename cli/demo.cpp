// qemutrace demo: build the built-in guest if needed, boot it with 2 cores,
// run the multi-threaded demo workload (qt-demo, ROI marked with
// qemutrace.h), trace the ROI and print the summary and what to try next.
#include <cstdio>

#include "launcher/guest_arch.h"
#include "launcher/guest_image.h"
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
  sub->add_option("--arch", o->arch, guest_arch_choices())->capture_default_str();
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
      ensure_guest(plan.arch, false, true);
      auto gargs = guest_qemu_args(plan.arch);
      plan.qemu_args = {"-smp", "2", "-m", "512M"};
      plan.qemu_args.insert(plan.qemu_args.end(), gargs.begin(), gargs.end());
      plan.settings.base = absolute_path(o->trace);
      plan.settings.format = "binary";
      plan.settings.start = "marker";
      plan.settings.markers = find_guest_arch(plan.arch)->legacy_markers ? "both" : "nop";
      plan.builtin_guest = true;
      plan.quiet = o->quiet;
      plan.stdin_mode = StdinMode::Closed;
      std::printf("qemutrace demo: booting the built-in %s guest (2 cores); it runs qt-demo and the ROI between\n"
                  "its qemutrace_start(1)/qemutrace_stop(1) markers is traced into %s_<core>\n\n",
                  plan.arch.c_str(), plan.settings.base.c_str());
      std::fflush(stdout);
      int rc = execute(plan);
      std::string cwd = absolute_path(".") + "/";
      auto rel = [&](const std::string& p) { return shell_quote(starts_with(p, cwd) ? p.substr(cwd.size()) : p); };
      std::string b = rel(plan.settings.base);
      std::string all;
      for (const auto& f : trace_files(plan.settings.base)) all += " " + rel(absolute_path(f));
      if (all.empty()) all = " " + b + "_0 " + b + "_1";
      std::string q = rel(exe_dir() + "/qemutrace");
      if (auto w = which("qemutrace"); w && absolute_path(*w) == exe_dir() + "/qemutrace") q = "qemutrace";
      std::printf("\ndemo finished in %.1f s%s. Next, try:\n", now_seconds() - t0, rc == 0 ? "" : " (with errors)");
      std::printf("  %s dump %s_0 | head -20     # the first instructions of core 0\n", q.c_str(), b.c_str());
      std::printf("  %s stats%s     # counts, kernel/user, loads/stores\n", q.c_str(), all.c_str());
      std::printf("  %s verify%s    # check every file\n", q.c_str(), all.c_str());
      std::string arch_opt = plan.arch == "x86_64" ? "" : " --arch " + plan.arch;
      std::printf("  %s run%s --program ./your-static-binary --trace out/t    # your own program\n", q.c_str(),
                  arch_opt.c_str());
      return rc;
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(demo, setup);
}  // namespace qemutrace::cli
