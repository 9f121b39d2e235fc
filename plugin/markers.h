// The guest's start and stop instructions (arch/ recognises their bytes):
// magic NOPs, and the legacy `int $100` / `int $101`. An `int $100` starts
// tracing at its return point, in the same address space with the same
// stack pointer, so that point is watched (translate.cpp instruments it)
// until it runs. In user mode it arms only once confirmed (IntConfirm: the
// helper that steps the process past the int says so), so an `int $100`
// whose process died never starts tracing in a later process that reuses
// the address space and the code address.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace qemutrace::plugin {

// The `int $100` that set a return point.
struct PendingInt {
  uint64_t asid = 0, sp = 0;
  bool confirmed = false;  // ring 0: the vector-100 handler returns by itself
};

struct IntWatch {
  std::mutex mu;
  std::unordered_set<uint64_t> points;  // return points that get a callback
  // Pending legacy starts by return point. Global, not per core: the
  // process may resume on another vCPU.
  std::unordered_map<uint64_t, PendingInt> pending;
};
IntWatch& int_watch();

// Callback on a marker instruction or a watched return point (userdata: Site).
void on_marker(unsigned k, void* site);

}  // namespace qemutrace::plugin
