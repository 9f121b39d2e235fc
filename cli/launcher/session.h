// Runs QEMU as a child and drives it: forwards the guest console, watches it
// for the built-in guest's markers, offers the interactive console (qqq_*
// commands over the control socket, everything else to QEMU's human
// monitor), draws the live status line and reports how the run ended.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/ctl_client.h"

namespace qemutrace::launcher {

enum class StdinMode { Inherit, Closed };

struct SessionConfig {
  std::vector<std::string> qemu_argv;  // full command; the session adds -monitor when console
  std::string ctl_socket;              // "" when nothing is traced
  std::string trace_base;              // for messages only
  bool console = false;                // interactive console on stdin/stdout
  std::string monitor_socket;          // where QEMU's human monitor listens (console)
  bool status_line = true;             // live status on stderr if it is a terminal
  StdinMode stdin_mode = StdinMode::Inherit;
  bool echo_guest = true;              // copy the guest console to stdout
  int64_t limit = -1;                  // --limit / -ST, for the limit notice
};

struct SessionResult {
  bool started = false;      // QEMU got past start-up
  std::string startup_error;  // one line, when it did not
  int exit_code = 0;          // QEMU's exit status (128+sig if killed)
  bool signaled = false;
  bool interrupted = false;   // we got SIGINT/SIGTERM
  bool user_quit = false;     // `quit` typed on the console
  bool guest_ready = false;   // "qemutrace-guest: ready"
  std::optional<int> workload_exit;  // "qemutrace-guest: exit N"
  std::string panic_line;     // "Kernel panic - not syncing: ..."
  bool no_bootable_device = false;  // the firmware gave up ("No bootable device."); QEMU was ended
  std::optional<TraceStatus> last_status;
  bool limit_reached = false;
  double wall_seconds = 0;     // QEMU lifetime
  double tracing_seconds = 0;  // time we saw the state "tracing"
  std::string guest_output_tail;  // last few KiB of console output
  int qemu_stop_signal = 0;    // QEMU said "terminating on signal N" (a clean shutdown)
  std::string qemu_stop_line;  // that line
  std::optional<SocketFileId> ctl_socket_id;  // the control socket our QEMU served
};

SessionResult run_session(const SessionConfig& cfg);

}  // namespace qemutrace::launcher
