// Every use of QEMU beyond the plugin API: internal entry points that
// Debian's QEMU binary exports, looked up once with dlsym, and facts about
// the running process. Each has a fallback for a binary that lacks it.
#pragma once

#include <string>
#include <vector>

namespace qemutrace::plugin::shim {

// Looks up the internal entry points (once, at install).
void init();

// Queues fn to run on vCPU 0's thread (async_run_on_cpu), where it cannot
// race with the callbacks of that vCPU. False if the entry point is missing.
bool run_on_vcpu0(void (*fn)());

// Asks QEMU to shut down as a monitor `quit` would (the atexit callbacks
// run). Without that entry point, the way a user would: SIGTERM to QEMU,
// whose main thread handles it (vCPU threads block it) as a shutdown
// request. Never exits from the calling (vCPU) thread: other vCPUs would
// still be recording while the exit handler finishes their files.
void request_shutdown();

// Single-threaded TCG (one host thread runs every vCPU): finds QEMU's
// thread-local `current_cpu` of the calling thread, which must be that vCPU
// thread, and the CPUState of vCPUs 0..ncores-1. False if QEMU does not
// export them.
bool find_current_cpu(unsigned ncores);
// The index of the vCPU the calling thread runs now (tried first: `guess`),
// or -1 if it is none of 0..ncores-1. Only after find_current_cpu.
int current_vcpu(unsigned guess);

// QEMU's command line and version, for the manifest.
std::vector<std::string> command_line();
std::string qemu_version();

}  // namespace qemutrace::plugin::shim
