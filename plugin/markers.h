// The guest's start and stop instructions (arch/ recognises their bytes):
// magic NOPs, and the legacy `int $100` / `int $101`. An `int $100` starts
// tracing at its return point, in the same address space, so that point is
// watched (translate.cpp instruments it) until it runs.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace qemutrace::plugin {

struct IntWatch {
  std::mutex mu;
  std::unordered_set<uint64_t> points;  // return points that get a callback
  // Pending legacy starts: return point -> address space of the `int $100`.
  // Global, not per core: the process may resume on another vCPU.
  std::unordered_map<uint64_t, uint64_t> pending;
};
IntWatch& int_watch();

// Callback on a marker instruction or a watched return point (userdata: Site).
void on_marker(unsigned k, void* site);

}  // namespace qemutrace::plugin
