#include "control_commands.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <vector>

#include "control.h"
#include "core.h"
#include "phase.h"
#include "qemu_shim.h"
#include "qemutrace/socket_path.h"

namespace qemutrace::plugin {
namespace {

struct Control {
  ControlServer server;
  std::mutex mu;  // one command at a time
};
Immortal<Control> g_control;
std::atomic<bool> g_closing{false};  // QEMU is exiting: vCPU 0 runs no more work

// Polls done() until it holds; false after kControlApplyMs or once QEMU exits.
template <class Done>
bool wait_applied(Done done) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kControlApplyMs);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end || g_closing.load()) return false;
    usleep(5000);
  }
  return true;
}

std::string status() {
  Phase ph = phase();
  const char* st = ph == Phase::Tracing ? "tracing" : ph == Phase::Limit ? "limit" : "off";
  std::ostringstream o;
  uint64_t ins = 0, bytes = 0;
  std::vector<CoreTotals> totals;
  if (g_plugin->run) totals = g_plugin->run->totals();
  for (auto& t : totals) {
    ins += t.instructions;
    bytes += t.bytes;
  }
  o << "{\"state\":\"" << st << "\",\"instructions\":" << ins << ",\"bytes\":" << bytes
    << ",\"cores\":[";
  for (size_t k = 0; k < totals.size(); ++k) {
    if (k) o << ",";
    o << "{\"core\":" << k << ",\"instructions\":" << totals[k].instructions
      << ",\"bytes\":" << totals[k].bytes << "}";
  }
  o << "]}";
  return o.str();
}

// Phase changes requested by the socket run on vCPU 0 (through
// async_run_on_cpu), whose thread can request the translation flush that
// follows. Without that function (qemu_shim.cpp), start_or_stop applies them
// on the socket thread; the transitions themselves are safe from any thread
// (phase.cpp: each claims the phase).
void start_on_vcpu() {
  start_condition(MarkerSource::Console, 0, -1);  // nothing unless Off
  request_reset_vcpu();
}
void stop_on_vcpu() {
  stop_condition(MarkerSource::Console, 0, -1);  // nothing unless Tracing or Skipping
  request_reset_vcpu();
}

std::string start_or_stop(bool start) {
  Phase ph = phase();
  if (ph == Phase::Limit) return "error limit reached";
  if (ph == Phase::Failed) return "error trace failed";
  uint64_t resets = resets_done();
  if (shim::run_on_vcpu0(start ? start_on_vcpu : stop_on_vcpu)) {
    // Answer once vCPU 0 has applied it, so that status agrees; after a stop
    // also once the flush is done, so that cores still in blocks translated
    // while tracing have closed their records and the count no longer moves.
    // A loaded host may take seconds to run vCPU 0: no short cut-off.
    auto moved = [start] {
      Phase now = phase();
      return start ? now != Phase::Off : now != Phase::Tracing && now != Phase::Skipping;
    };
    bool applied = wait_applied(moved) &&
                   (start || wait_applied([&] { return resets_done() != resets; }));
    if (!applied)
      return std::string("error not applied yet: vCPU 0 has not run for ") + std::to_string(kControlApplyMs / 1000) +
             " s (status shows when it is)";
  } else {
    if (start) start_condition(MarkerSource::Console, 0, -1);
    else stop_condition(MarkerSource::Console, 0, -1);
    request_reset_any();
  }
  return start ? "ok tracing" : "ok off";
}

std::string handle(const std::string& cmd) {
  std::lock_guard<std::mutex> lk(g_control->mu);
  if (cmd == "status") return status();
  if (cmd == "start" || cmd == "stop") return start_or_stop(cmd == "start");
  return "error unknown command";
}

}  // namespace

bool start_control(const std::string& path, std::string* error) {
  return g_control->server.start(path, handle, error);
}

void stop_control() {
  g_closing = true;
  g_control->server.stop();
}

}  // namespace qemutrace::plugin
