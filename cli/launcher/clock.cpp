#include "launcher/clock.h"

#include "launcher/util.h"

namespace qemutrace::launcher {

std::string virtual_clock_icount() {
  // sleep=off: an idle guest jumps to its next timer instead of waiting for
  // the host, so guest time never depends on host time.
  return "shift=" + std::to_string(kVirtualClockShift) + ",sleep=off";
}

std::string virtual_clock_rtc() {
  // The default RTC follows the host's wall clock: the kernel reads it at boot
  // (and spins on its update flag), so every run would start differently.
  return "base=2020-01-01T00:00:00,clock=vm";
}

std::string record_replay_icount(const std::string& mode, const std::string& rrfile) {
  // The event log fixes the replay's guest time whatever the shift. shift=auto
  // keeps the log small: with shift=0 the built-in guest's boot logged 70 MiB
  // of clock events against 5 MiB and replayed 10x slower, and with sleep=off
  // QEMU 10.0 did not get through the firmware while recording.
  return "shift=auto,rr=" + mode + ",rrfile=" + rrfile;
}

bool has_qemu_option(const std::vector<std::string>& args, const std::string& name) {
  for (const auto& a : args)
    if (a == "-" + name || a == "--" + name) return true;
  return false;
}

std::vector<std::string> clock_qemu_args(const std::string& clock, const std::vector<std::string>& other_args) {
  if (clock == "host") return {};
  if (clock != "virtual") throw LaunchError("bad clock '" + clock + "': expected host or virtual");
  if (has_qemu_option(other_args, "icount"))
    throw LaunchError("the virtual clock sets -icount itself: give either --clock virtual or -icount, not both");
  std::vector<std::string> args = {"-icount", virtual_clock_icount()};
  if (!has_qemu_option(other_args, "rtc")) args.insert(args.end(), {"-rtc", virtual_clock_rtc()});
  return args;
}

}  // namespace qemutrace::launcher
