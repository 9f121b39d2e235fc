// A run's report: chooses the axis, profiles every core and keeps the
// hottest PCs of the run.
#include <algorithm>
#include <unordered_map>

#include "core_profile.h"
#include "qemutrace/trace_paths.h"

namespace qemutrace {

namespace {

using report_detail::AxisScale;

// The key of a core's last instruction on `axis`: the index from the chunk
// index, the time from decoding only the last chunk.
uint64_t last_time_ns(CoreReader& r) {
  if (r.chunks().empty()) return 0;
  r.seek(r.chunks().back().first_insn);
  uint64_t t = r.chunks().back().first_time_ns;
  while (const Instruction* in = r.next()) t = in->time_ns;
  return t;
}

// Host time when every file has timestamps (the cores line up), else the
// instruction index per core.
AxisScale choose_scale(std::vector<std::unique_ptr<CoreReader>>& readers) {
  AxisScale s;
  bool timed = true;
  uint64_t origin = UINT64_MAX, end = 0;
  for (auto& r : readers) {
    if (!(r->header().features & feature::kTimestamps)) timed = false;
    if (!r->chunks().empty()) origin = std::min(origin, r->chunks().front().first_time_ns);
  }
  if (timed && origin != UINT64_MAX) {
    for (auto& r : readers) end = std::max(end, last_time_ns(*r));
    s.axis = Axis::TimeNs;
    s.origin = origin;
    end = end > origin ? end - origin : 0;
  } else {
    s.axis = Axis::Instructions;
    for (auto& r : readers) end = std::max(end, r->total_instructions());
  }
  s.width = std::max<uint64_t>(1, end / kReportIntervals + 1);
  return s;
}

std::vector<HotPc> hottest(const std::unordered_map<uint64_t, std::pair<uint64_t, uint8_t>>& counts) {
  std::vector<HotPc> all;
  all.reserve(counts.size());
  for (const auto& [pc, c] : counts) all.push_back({pc, c.first, c.second, {}});
  size_t n = std::min(all.size(), kReportHotPcs);
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const HotPc& a, const HotPc& b) {
    return a.count != b.count ? a.count > b.count : a.pc < b.pc;
  });
  all.resize(n);
  return all;
}

}  // namespace

Report aggregate_report(const std::string& path_or_base) {
  Report rep;
  rep.title = path_or_base;
  rep.facts = read_run_facts(path_or_base);
  std::vector<std::string> paths = expand_trace_paths(path_or_base);
  std::vector<std::unique_ptr<CoreReader>> readers;
  for (const auto& p : paths) readers.push_back(CoreReader::open(p));
  AxisScale scale = choose_scale(readers);
  rep.axis = scale.axis;
  rep.interval_width = scale.width;
  report_detail::RunSets run;
  for (size_t i = 0; i < readers.size(); i++) {
    rep.cores.push_back(report_detail::profile_core(*readers[i], paths[i], scale, run));
    readers[i].reset();  // its decoder buffers are no longer needed
  }
  rep.hot_pcs = hottest(run.pc_counts);
  rep.distinct_pcs = run.pc_counts.size();
  rep.distinct_lines = run.lines.size();
  rep.distinct_pages = run.pages.size();
  return rep;
}

}  // namespace qemutrace
