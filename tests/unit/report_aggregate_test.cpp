// The report's aggregation on a trace written here with a known structure:
// a user loop of `rep movsb; mov rbx, rax; jnz` run 100 times, each
// iteration loading one line and storing across a line boundary, then a
// `ret`. Every expected count follows from that structure, not from the
// code under test.
#include <gtest/gtest.h>

#include <fstream>

#include "qemutrace/report.h"
#include "qemutrace/writer.h"

namespace qemutrace {
namespace {

constexpr int kIters = 100;

std::string write_trace() {
  WriterOptions o;
  o.features = feature::kKernel | feature::kAsid;  // no timestamps: the axis is the instruction index
  std::vector<uint8_t> bytes;
  BinaryCoreWriter w(std::make_unique<MemorySink>(&bytes), o, 0, nullptr);
  StaticBlock loop, ret;
  loop.vaddr = 0x1000;
  loop.id = 0;
  loop.insn_count = 3;
  loop.lengths = {2, 3, 2};
  loop.bytes = {0xf3, 0xa4, 0x48, 0x89, 0xc3, 0x75, 0xf9};  // rep movsb; mov rbx, rax; jnz 0x1000
  ret.vaddr = 0x2000;
  ret.id = 1;
  ret.insn_count = 1;
  ret.lengths = {1};
  ret.bytes = {0xc3};
  w.set_context(3, 1);
  w.marker({MarkerKind::RoiBegin, MarkerSource::MagicNop, 7, 0});
  for (int i = 0; i < kIters; i++) {
    if (i == 50) w.marker({MarkerKind::Discontinuity, MarkerSource::Interrupt, 0, 0x1005});
    w.begin_block(&loop);
    w.access(0, 0x10000 + 64 * i, 0, 0, false);       // 1 byte: one line
    w.access(0, 0x20000 + 64 * i + 63, 0, 1, true);   // 2 bytes: straddles into the next line
    w.end_block(3);
  }
  w.begin_block(&ret);
  w.end_block(1);
  w.marker({MarkerKind::RoiEnd, MarkerSource::MagicNop, 7, 0});
  EXPECT_TRUE(w.finish());
  std::string base = ::testing::TempDir() + "/report_aggregate";
  std::ofstream(base + "_0", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                     std::streamsize(bytes.size()));
  return base;
}

TEST(ReportAggregate, CountsFollowTheProgramsStructure) {
  Report r = aggregate_report(write_trace());
  ASSERT_EQ(r.cores.size(), 1u);
  const CoreReport& c = r.cores[0];
  const uint64_t n = 3 * kIters + 1;
  EXPECT_EQ(r.axis, Axis::Instructions);
  EXPECT_EQ(c.mix.instructions, n);
  EXPECT_EQ(c.mix.levels.user(), n);
  EXPECT_EQ(c.mix.levels.kernel(), 0u);
  EXPECT_EQ(c.mix.loads, uint64_t(kIters));
  EXPECT_EQ(c.mix.stores, uint64_t(kIters));
  EXPECT_EQ(c.mix.rep_string, uint64_t(kIters));
  EXPECT_EQ(c.mix.branches[size_t(BranchKind::Conditional)], uint64_t(kIters));
  EXPECT_EQ(c.mix.branches[size_t(BranchKind::Return)], 1u);
  // Every jnz leaves the fall-through (back to the loop, last to the ret);
  // the ret ends the trace, so its outcome is unknown.
  EXPECT_EQ(c.mix.taken, uint64_t(kIters));
  EXPECT_EQ(c.distinct_pcs, 4u);
  // Loads: one line each; stores: lines 0x800..0x864 (each straddles).
  EXPECT_EQ(c.distinct_lines, uint64_t(kIters + kIters + 1));
  EXPECT_EQ(c.distinct_pages, 4u);  // 0x10, 0x11 loaded; 0x20, 0x21 stored
  EXPECT_EQ(r.distinct_lines, c.distinct_lines);

  // 301 instructions in 120 intervals: 3 per interval, one iteration each.
  EXPECT_EQ(r.interval_width, 3u);
  ASSERT_EQ(c.intervals.size(), kReportIntervals);
  for (int i = 0; i < kIters; i++) {
    SCOPED_TRACE(i);
    EXPECT_EQ(c.intervals[i].levels.user(), 3u);
    EXPECT_EQ(c.intervals[i].lines, 3u);
    // Iteration 63 stores at 0x20fff: across the page boundary too.
    EXPECT_EQ(c.intervals[i].pages, i == 63 ? 3u : 2u);
    EXPECT_EQ(c.intervals[i].discontinuities, i == 50 ? 1u : 0u);
  }
  EXPECT_EQ(c.intervals[kIters].levels.user(), 1u);
  EXPECT_EQ(c.intervals[kIters].lines, 0u);
  for (size_t i = kIters + 1; i < kReportIntervals; i++) EXPECT_EQ(c.intervals[i].levels.user(), 0u);

  // One region around everything; the DISCONTINUITY is counted, not listed.
  ASSERT_EQ(c.regions.size(), 1u);
  EXPECT_EQ(c.regions[0].first_index, 0u);
  EXPECT_EQ(c.regions[0].instructions, n);
  EXPECT_EQ(c.regions[0].id, 7);
  EXPECT_TRUE(c.regions[0].closed);
  EXPECT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.markers.at("discontinuity"), 1u);

  ASSERT_GE(r.hot_pcs.size(), 4u);
  for (int i = 0; i < 3; i++) EXPECT_EQ(r.hot_pcs[i].count, uint64_t(kIters));
  EXPECT_EQ(r.hot_pcs[0].pc, 0x1000u);  // ties by address
  EXPECT_EQ(r.hot_pcs[3].pc, 0x2000u);
  EXPECT_EQ(r.hot_pcs[3].count, 1u);
}

// Levels: blocks of one instruction run at each level in turn, a known
// number of times each. The timeline draws hypervisor and nested-guest
// series; the page's counts are the levels' sums.
TEST(ReportAggregate, HypervisorAndNestedLevelsAreShown) {
  WriterOptions o;
  o.features = feature::kKernel | feature::kAsid | feature::kLevel;
  std::vector<uint8_t> bytes;
  BinaryCoreWriter w(std::make_unique<MemorySink>(&bytes), o, 0, nullptr);
  StaticBlock nop;
  nop.vaddr = 0x3000;
  nop.id = 0;
  nop.insn_count = 1;
  nop.lengths = {1};
  nop.bytes = {0x90};
  struct Phase {
    uint8_t cpl, lv;
    int n;
  };
  const Phase phases[] = {{3, level::kUser, 10},
                          {0, level::kKernel, 5},
                          {0, level::kHypervisor, 3},
                          {3, level::kUser | level::kNested, 7},
                          {0, level::kKernel | level::kNested, 2}};
  for (const Phase& p : phases) {
    w.set_context(p.cpl, 1, p.lv);
    for (int i = 0; i < p.n; i++) {
      w.begin_block(&nop);
      w.end_block(1);
    }
  }
  ASSERT_TRUE(w.finish());
  std::string base = ::testing::TempDir() + "/report_levels";
  std::ofstream(base + "_0", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                     std::streamsize(bytes.size()));
  Report r = aggregate_report(base);
  ASSERT_EQ(r.cores.size(), 1u);
  const LevelCounts& l = r.cores[0].mix.levels;
  EXPECT_EQ(l.user(), 17u);
  EXPECT_EQ(l.kernel(), 7u);
  EXPECT_EQ(l.hypervisor(), 3u);
  EXPECT_EQ(l.nested(), 9u);
  LevelCounts over_intervals;
  for (const Interval& iv : r.cores[0].intervals) over_intervals += iv.levels;
  EXPECT_EQ(over_intervals.by_level, l.by_level);

  const std::string page = report_html(r);
  for (const char* series : {"user", "kernel", "hypervisor", "nested guest"})
    EXPECT_NE(page.find(std::string("<title>") + series + " "), std::string::npos) << series;
  for (const char* cell : {"data-stat=\"hypervisor_instructions\">3<", "data-stat=\"nested_instructions\">9<",
                           "data-stat=\"kernel_instructions\">7<", "data-stat=\"user_instructions\">17<"})
    EXPECT_NE(page.find(cell), std::string::npos) << cell;
}

}  // namespace
}  // namespace qemutrace
