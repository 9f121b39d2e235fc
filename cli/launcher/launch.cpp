#include "launcher/launch.h"

#include <unistd.h>

#include <cstdio>
#include <regex>

#include "launcher/summary.h"
#include "launcher/util.h"

namespace qemutrace::launcher {

void check_memory_size(const std::string& m) {
  static const std::regex re("^[0-9]+(\\.[0-9]+)?[KMGTkmgt]?[Bb]?$");
  if (!std::regex_match(m, re)) throw LaunchError("bad -m value '" + m + "': expected a size such as 512M or 2G");
}

int execute(LaunchPlan plan) {
  QemuBinary qemu = find_qemu(plan.arch);
  TempDir tmp;
  SessionConfig cfg;
  cfg.qemu_argv.push_back(qemu.path);
  cfg.qemu_argv.insert(cfg.qemu_argv.end(), plan.qemu_args.begin(), plan.qemu_args.end());
  if (plan.trace) {
    plugin_argument("libqemutrace.so", plan.settings);  // bad values first, then missing files
    std::string plugin = plugin_path();
    plan.settings.base = absolute_path(plan.settings.base);
    plan.settings.ctl = ctl_path_for_base(plan.settings.base);
    std::string arg = plugin_argument(plugin, plan.settings);  // validates first
    prepare_trace_dir(plan.settings.base);
    claim_socket_path(plan.settings.ctl);
    cfg.qemu_argv.push_back("-plugin");
    cfg.qemu_argv.push_back(arg);
    cfg.ctl_socket = plan.settings.ctl;
    cfg.trace_base = plan.settings.base;
    cfg.limit = plan.settings.limit;
  }
  cfg.console = plan.console;
  cfg.monitor_socket = tmp.path() + "/monitor.sock";
  cfg.status_line = !plan.quiet;
  cfg.stdin_mode = plan.console ? StdinMode::Closed : plan.stdin_mode;
  if (const char* v = std::getenv("QEMUTRACE_VERBOSE"); v && *v == '1')
    std::fprintf(stderr, "qemutrace: %s\n", join_command(cfg.qemu_argv).c_str());

  SessionResult r = run_session(cfg);
  if (!r.started && !r.startup_error.empty()) {
    if (plan.trace) unlink(plan.settings.ctl.c_str());
    throw LaunchError(r.startup_error);
  }
  if (r.no_bootable_device) {
    if (plan.trace) unlink(plan.settings.ctl.c_str());
    throw LaunchError(
        "nothing to boot: the firmware found no bootable device (a disk image needs a bootloader; "
        "or boot a kernel with --kernel/--initrd and console=ttyS0 in --append to see its console)");
  }
  if (plan.trace) unlink(plan.settings.ctl.c_str());  // the plugin normally removes it

  if (plan.trace && plan.settings.limit > 0 && !r.limit_reached &&
      manifest_total_instructions(plan.settings.base) >= plan.settings.limit) {
    r.limit_reached = true;  // reached between two status polls
    std::fprintf(stderr, "qemutrace: instruction limit reached after %lld instructions; tracing stopped\n",
                 static_cast<long long>(plan.settings.limit));
  }
  int rc = r.exit_code;
  std::string problem;
  if (plan.builtin_guest) {
    if (!r.panic_line.empty()) {
      problem = "guest kernel panic: " + r.panic_line;
      rc = 1;
    } else if (r.workload_exit) {
      rc = *r.workload_exit;
      if (rc != 0) problem = "the workload exited with status " + std::to_string(rc);
      if (rc > 255 || rc < 0) rc = 1;
    } else if (r.limit_reached && plan.settings.exit_on_limit) {
      rc = 0;
    } else if (r.user_quit) {
      rc = 0;  // the user ended the run from the console
    } else if (r.interrupted) {
      problem = "interrupted";
      rc = 130;
    } else {
      problem = r.guest_ready ? "the guest stopped without reporting the workload's exit status"
                              : "the guest stopped before it was ready (no 'qemutrace-guest: ready' on its console)";
      rc = 1;
    }
  } else if (r.interrupted && rc == 0) {
    rc = 130;
  } else if (rc != 0) {
    problem = "QEMU exited with status " + std::to_string(rc);
  }
  if (plan.trace && plan.summary) {
    SummaryInput in{plan.settings.base, plan.settings.format, &r};
    print_summary(in);
  }
  if (!problem.empty()) std::fprintf(stderr, "qemutrace: %s\n", problem.c_str());
  return rc;
}

}  // namespace qemutrace::launcher
