#include "launcher/launch.h"

#include <unistd.h>

#include <cstdio>
#include <regex>

#include "launcher/summary.h"
#include "launcher/util.h"
#include "qemutrace/trace_paths.h"

namespace qemutrace::launcher {

void check_memory_size(const std::string& m) {
  static const std::regex re("^[0-9]+(\\.[0-9]+)?[KMGTkmgt]?[Bb]?$");
  if (!std::regex_match(m, re)) throw LaunchError("bad -m value '" + m + "': expected a size such as 512M or 2G");
}

namespace {
// The run writes BASE_<k>..., BASE.json: none may be a file QEMU reads
// (a kernel, an initrd, a disk image, a recording), under any name.
void refuse_inputs_as_outputs(const std::string& base, const std::vector<std::string>& qemu_args) {
  std::vector<std::string> inputs;
  for (const std::string& a : qemu_args) {
    inputs.push_back(a);
    size_t s = 0;  // key=value lists: -drive file=...,  -icount rrfile=...
    while (s < a.size()) {
      size_t e = a.find(',', s);
      if (e == std::string::npos) e = a.size();
      size_t eq = a.find('=', s);
      if (eq != std::string::npos && eq < e) inputs.push_back(a.substr(eq + 1, e - eq - 1));
      s = e + 1;
    }
  }
  if (std::string same = output_overwrites_input(run_output_paths(base, 64), inputs); !same.empty())
    throw LaunchError("trace file " + same + " is an input of the run: give another trace base");
}
}  // namespace

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
    refuse_inputs_as_outputs(plan.settings.base, plan.qemu_args);
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
  // The plugin removes its socket when QEMU ends normally; after a crash
  // the socket is ours to remove, but only if our QEMU served it: a run that
  // lost the race for BASE must not remove the winner's.
  if (plan.trace) remove_socket_file(plan.settings.ctl, r.ctl_socket_id);
  if (!r.started && !r.startup_error.empty()) throw LaunchError(r.startup_error);
  if (r.no_bootable_device)
    throw LaunchError(
        "nothing to boot: the firmware found no bootable device (a disk image needs a bootloader; "
        "or boot a kernel with --kernel/--initrd and console=ttyS0 in --append to see its console)");

  if (plan.trace && plan.settings.limit > 0 && !r.limit_reached &&
      manifest_total_instructions(plan.settings.base) >= plan.settings.limit) {
    r.limit_reached = true;  // reached between two status polls; the plugin said so
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
    } else if (r.qemu_stop_signal) {
      // Stopped from outside like an interrupt: QEMU shut down cleanly.
      problem = "QEMU was stopped before the workload finished (" + r.qemu_stop_line + ")";
      rc = 130;
    } else if (r.signaled) {
      problem = "QEMU was killed by signal " + std::to_string(r.exit_code - 128) + " before the workload finished";
      rc = r.exit_code;
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
  // The exit code and the summary follow the files, whatever QEMU said.
  TraceCheck check;
  if (plan.trace) {
    check = check_trace(plan.settings.base);
    if (!check.complete) rc = kIncompleteTraceExit;
  }
  if (plan.trace && plan.summary) {
    SummaryInput in{plan.settings.base, plan.settings.format, &r, &check};
    print_summary(in);
  }
  if (!problem.empty()) std::fprintf(stderr, "qemutrace: %s\n", problem.c_str());
  if (plan.trace && !check.complete) {
    std::string rec = check.recoverable >= 0 ? "; " + std::to_string(check.recoverable) +
                                                   " instructions are recoverable from complete chunks"
                                             : "";
    std::fprintf(stderr, "qemutrace: the trace is incomplete: %s%s\n", check.problem.c_str(), rec.c_str());
  }
  return rc;
}

}  // namespace qemutrace::launcher
