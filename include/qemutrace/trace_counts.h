// Counts of a trace file or a run that `stats` prints and `report` shows:
// one definition, so both sum cores the same way.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "qemutrace/format.h"

namespace qemutrace {

// Instructions by the level they ran at, indexed by the format's level byte
// (format.h level::): privilege in bits 0-1, the nested bit above.
struct LevelCounts {
  std::array<uint64_t, level::kKnownMask + 1> by_level{};

  void add(uint8_t lv, uint64_t n = 1) { by_level[lv & level::kKnownMask] += n; }
  // Every instruction of privilege `p` (level::kKernel, kUser or kHypervisor), nested or not.
  uint64_t privilege(uint8_t p) const { return by_level[p] + by_level[p | level::kNested]; }
  uint64_t kernel() const { return privilege(level::kKernel); }
  uint64_t user() const { return privilege(level::kUser); }
  uint64_t hypervisor() const { return privilege(level::kHypervisor); }
  // A level-2 guest's, whatever its privilege.
  uint64_t nested() const {
    uint64_t n = 0;
    for (size_t lv = level::kNested; lv < by_level.size(); lv++) n += by_level[lv];
    return n;
  }
  LevelCounts& operator+=(const LevelCounts& o) {
    for (size_t i = 0; i < by_level.size(); i++) by_level[i] += o.by_level[i];
    return *this;
  }
};

// A core's (or, summed, a run's) counts; distinct PCs and lines are sets
// the tools keep themselves (a run's are not the sum of its cores').
struct TraceCounts {
  uint64_t instructions = 0, loads = 0, stores = 0, bytes = 0;
  LevelCounts levels;
  std::map<std::string, uint64_t> markers;  // by marker kind name
  bool complete = true;

  TraceCounts& operator+=(const TraceCounts& o) {
    instructions += o.instructions;
    loads += o.loads;
    stores += o.stores;
    bytes += o.bytes;
    levels += o.levels;
    for (const auto& [k, v] : o.markers) markers[k] += v;
    complete = complete && o.complete;
    return *this;
  }
};

}  // namespace qemutrace
