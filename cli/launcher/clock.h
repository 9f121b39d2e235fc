// The guest's clock: host time (QEMU's default) or a virtual clock that
// advances with retired instructions (-icount), so that neither host speed,
// host load nor the tracer change what the guest executes.
#pragma once

#include <string>
#include <vector>

namespace qemutrace::launcher {

// -icount shift=0: one nanosecond of guest time per instruction, 1 GIPS, the
// fastest guest clock -icount offers (shift is a whole power of two).
constexpr int kVirtualClockShift = 0;

// The -icount value of the virtual clock.
std::string virtual_clock_icount();

// The -rtc value of the virtual clock: the guest's wall clock starts at a
// fixed date and advances with guest time, so reading it is no outside input.
std::string virtual_clock_rtc();

// The -icount value of QEMU's record/replay; `mode` is "record" or "replay".
std::string record_replay_icount(const std::string& mode, const std::string& rrfile);

// QEMU options for --clock CLOCK ("host": none; "virtual": -icount ... and,
// unless the user gives -rtc, -rtc ...). `other_args` are the user's own QEMU
// options: an -icount there conflicts with --clock virtual. Throws LaunchError
// naming the bad value.
std::vector<std::string> clock_qemu_args(const std::string& clock, const std::vector<std::string>& other_args);

// True if `args` contain a QEMU option `name` (-name or --name).
bool has_qemu_option(const std::vector<std::string>& args, const std::string& name);

}  // namespace qemutrace::launcher
