// One core's part of a report, gathered while its file is read once.
#pragma once

#include <memory>
#include <unordered_map>

#include "qemutrace/distinct_set.h"
#include "qemutrace/reader.h"
#include "qemutrace/report.h"

namespace qemutrace::report_detail {

// Where instructions fall on the report's axis: key = (time_ns - origin)
// or the instruction index, divided into kReportIntervals of `width`.
struct AxisScale {
  Axis axis = Axis::Instructions;
  uint64_t origin = 0;
  uint64_t width = 1;
  uint64_t key(const Instruction& in) const {
    return axis == Axis::TimeNs ? (in.time_ns > origin ? in.time_ns - origin : 0) : in.index;
  }
  size_t interval(uint64_t key) const {
    uint64_t b = key / width;
    return b < kReportIntervals ? size_t(b) : kReportIntervals - 1;
  }
};

// The run's distinct PCs, lines and pages over all cores.
struct RunSets {
  std::unordered_map<uint64_t, std::pair<uint64_t, uint8_t>> pc_counts;  // count and level
  DistinctSet lines, pages;
};

// Reads the whole file; run.pc_counts receives each PC's retired count (its
// size is the core's distinct PCs, bounded by the code run, not its length).
CoreReport profile_core(CoreReader& r, const std::string& path, const AxisScale& scale, RunSets& run);

}  // namespace qemutrace::report_detail
