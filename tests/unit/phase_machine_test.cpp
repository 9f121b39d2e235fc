// The plugin's phase machine (plugin/phase.cpp) and budgets (budget.cpp)
// driven by plain threads, one per simulated vCPU, without QEMU. Each
// thread does what record.cpp does at a block: while tracing it takes
// budget, retires the block and settles (which may end the window); while
// skipping it counts the block (which may end the skip). Regions begin and
// end as in record.cpp (core_begin/core_end, stubbed below), and every
// marker a core would write is kept, then checked against what the run's
// options and the test's own commands say it must be.
//
// The phase races these tests look for: a core that sees Skipping before
// the skip count and the stop marker are written for it (window end); a
// start that meets a skip ending half-way; a core still counting an old
// skip period. Under ThreadSanitizer (make tsan) the same runs also check
// that every shared field is published through the phase.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "budget.h"
#include "core.h"
#include "main.h"
#include "phase.h"
#include "qemu_shim.h"
#include "record.h"

// --- What phase.cpp and core.cpp use of QEMU and of the other rooms. ---

namespace {
std::atomic<int> g_resets_requested{0};
std::atomic<int> g_shutdowns{0};
}  // namespace

extern "C" void qemu_plugin_reset(qemu_plugin_id_t, qemu_plugin_simple_cb_t cb) {
  g_resets_requested++;
  cb(0);  // as QEMU does once the flush is done (here at once)
}

namespace qemutrace::plugin {

void register_callbacks() {}

namespace shim {
bool run_on_vcpu0(void (*)()) { return false; }
void request_shutdown() { g_shutdowns++; }
}  // namespace shim

namespace {

struct Mark {
  MarkerKind kind;
  MarkerSource source;
  uint16_t id;
  uint32_t epoch;  // the region, for ROI_BEGIN
};
// Per core, written by its own thread only.
std::vector<std::vector<Mark>> g_marks;

}  // namespace

// As record.cpp's, writing marks instead of records.
bool core_begin(Vcpu& v, unsigned k) {
  if (v.region.tracing) return true;
  RoiView r = roi_view();
  if (r.state.phase != Phase::Tracing) return false;
  v.region.tracing = true;
  v.region.epoch = r.epoch;
  v.budget.starved = false;
  g_marks[k].push_back({MarkerKind::RoiBegin, r.state.start_source, r.state.start_id, r.epoch});
  if (r.state.after_skip) g_marks[k].push_back({MarkerKind::SkipDone, MarkerSource::None, 0, r.epoch});
  return true;
}

void core_end(Vcpu& v, unsigned k, const Marker& end) {
  if (!v.region.tracing) return;
  g_marks[k].push_back({end.kind, end.source, end.id, 0});
  v.region.tracing = false;
  release_budget(k);
}

// No record is ever left open between two simulated blocks.
void end_region(Vcpu& v, unsigned k) { core_end(v, k, end_marker_for_phase()); }
// QEMU calls a reset's callback with every vCPU stopped; the simulated cores
// never stop, so here each core ends its own region on its next block.
void end_every_region() {}

namespace {

constexpr uint32_t kBlock = 8;  // instructions per simulated block

struct SimRun {
  unsigned ncores = 3;
  std::atomic<bool> quit{false};
  // Instructions counted while skipping, by the region epoch they preceded
  // (the gap after region e, or the skip before region e + 1).
  std::vector<std::atomic<uint64_t>> skipped = std::vector<std::atomic<uint64_t>>(4096);
  std::atomic<uint64_t> traced{0};
};

void setup(SimRun& run, Options opt) {
  PluginState& p = *g_plugin;
  opt.quiet = true;
  p.opt = opt;
  p.ncores = run.ncores;
  p.vcpus.clear();
  p.vcpus.resize(run.ncores);
  g_marks.assign(run.ncores, {});
  g_roi.word.store(RoiState{}.pack());
  g_roi.epoch.store(0);
  init_budgets(run.ncores, opt.limit, opt.window);
}

// One block on core k, as on_tb_exec / on_tb_skip / close_record do it.
void block(SimRun& run, unsigned k) {
  Vcpu& v = g_plugin->vcpus[k];
  RoiView r = roi_view();
  if (r.state.phase == Phase::Tracing) {
    if (v.region.tracing && v.region.epoch != g_roi.epoch.load(std::memory_order_relaxed))
      core_end(v, k, end_marker_for_phase());
    if (!core_begin(v, k)) return;
    uint32_t cap = kBlock;
    if (budgets_on() && !take_budget(v, k, &cap)) return;
    v.rec.cap = cap;
    run.traced += cap;
    Drained d = settle_budget(v, k, cap);
    if (d.limit && phase() == Phase::Tracing) declare_limit(k);
    else if (d.window && phase() == Phase::Tracing) declare_window_end(k, d.window_epoch);
    return;
  }
  if (v.region.tracing) end_region(v, k);
  if (r.state.phase != Phase::Skipping) return;
  uint32_t period;
  bool tail_begins = false;
  bool done = count_skipped(v, kBlock, &period, &tail_begins);
  run.skipped[r.epoch % run.skipped.size()] += kBlock;
  if (done) end_skipping(k, period);
}

void run_cores(SimRun& run, std::vector<std::thread>* threads) {
  for (unsigned k = 0; k < run.ncores; ++k)
    threads->emplace_back([&run, k] {
      while (!run.quit.load(std::memory_order_relaxed)) block(run, k);
    });
}

void stop_cores(SimRun& run, std::vector<std::thread>* threads) {
  run.quit = true;
  for (auto& t : *threads) t.join();
  for (unsigned k = 0; k < run.ncores; ++k)
    core_end(g_plugin->vcpus[k], k, Marker{MarkerKind::RoiEnd, MarkerSource::EndOfRun, 0, 0});
}

// Waits (with a deadline) until `done` holds.
template <class F>
bool wait_for(F done, int seconds = 120) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

// Per core: ROI_BEGIN and an end marker alternate, regions in epoch order.
void expect_well_formed(unsigned k) {
  bool in = false;
  uint32_t last_epoch = 0;
  for (const Mark& m : g_marks[k]) {
    if (m.kind == MarkerKind::SkipDone) {
      EXPECT_TRUE(in) << "core " << k << ": SKIP_DONE outside a region";
      continue;
    }
    bool begin = m.kind == MarkerKind::RoiBegin;
    ASSERT_NE(begin, in) << "core " << k << ": " << (begin ? "two ROI_BEGIN" : "two region ends");
    if (begin) {
      EXPECT_GT(m.epoch, last_epoch) << "core " << k << ": a region began twice";
      last_epoch = m.epoch;
    }
    in = begin;
  }
}

// window=/every= from start=now: every region after the first begins with
// a window and follows a gap of every - window skipped instructions; every
// region ends with the window (the last one with the end of the run).
TEST(PhaseMachine, WindowEndsPublishTheGapBeforeSkipping) {
  SimRun run;
  Options opt;
  opt.window = 4000;
  opt.every = 4000 + 40000;
  setup(run, opt);
  start_condition(MarkerSource::StartOption, 0, -1);
  ASSERT_EQ(phase(), Phase::Tracing);
  std::vector<std::thread> threads;
  run_cores(run, &threads);
  const uint32_t kWindows = 150;
  bool reached = wait_for([] { return g_roi.epoch.load() >= kWindows; });
  stop_cores(run, &threads);
  ASSERT_TRUE(reached) << "only " << g_roi.epoch.load() << " windows";
  uint32_t last = g_roi.epoch.load();
  // A core may count up to one batch (4096) in a period another core has
  // already ended or restarted.
  const uint64_t slack = run.ncores * (4096 + kBlock);
  for (uint32_t e = 1; e < last; ++e)
    EXPECT_GE(run.skipped[e].load() + slack, opt.every - opt.window) << "the gap after window " << e;
  for (unsigned k = 0; k < run.ncores; ++k) {
    expect_well_formed(k);
    for (size_t i = 0; i < g_marks[k].size(); ++i) {
      const Mark& m = g_marks[k][i];
      bool final_end = i + 1 == g_marks[k].size();
      if (m.kind == MarkerKind::RoiBegin) {
        MarkerSource want = m.epoch == 1 ? MarkerSource::StartOption : MarkerSource::Window;
        EXPECT_EQ(int(m.source), int(want)) << "core " << k << " region " << m.epoch;
      } else if (m.kind == MarkerKind::RoiEnd) {
        bool ok = m.source == MarkerSource::Window || (final_end && m.source == MarkerSource::EndOfRun);
        EXPECT_TRUE(ok) << "core " << k << " marker " << i << ": region ended by source " << int(m.source);
      } else {
        ADD_FAILURE() << "core " << k << ": unexpected marker kind " << int(m.kind);
      }
    }
  }
}

// skip= with starts and stops from another thread (the control socket
// without async_run_on_cpu). Starts are repeated while the skip runs out,
// so that some meet a skip ending. Every region begins with the console,
// follows skip= skipped instructions, writes SKIP_DONE, and ends with a
// stop of its own: each core's stop ids strictly increase.
TEST(PhaseMachine, StartsRacingSkipEndsAndStops) {
  SimRun run;
  Options opt;
  opt.skip = 20000;
  setup(run, opt);
  std::vector<std::thread> threads;
  run_cores(run, &threads);
  const uint16_t kRegions = 60;
  bool ok = true;
  for (uint16_t i = 1; i <= kRegions && ok; ++i) {
    uint32_t epoch = g_roi.epoch.load();
    uint64_t traced = run.traced.load();
    ok = wait_for([&] {
      start_condition(MarkerSource::Console, i, -1);  // nothing unless Off
      return g_roi.epoch.load() > epoch && run.traced.load() > traced + 2000;
    });
    if (ok) ok = stop_condition(MarkerSource::Console, i, -1);
  }
  stop_cores(run, &threads);
  ASSERT_TRUE(ok) << "region " << g_roi.epoch.load() << " did not begin or end";
  EXPECT_EQ(g_roi.epoch.load(), kRegions);
  const uint64_t slack = run.ncores * (4096 + kBlock);
  for (uint32_t e = 0; e < kRegions; ++e)
    EXPECT_GE(run.skipped[e].load() + slack, opt.skip) << "the skip before region " << e + 1;
  for (unsigned k = 0; k < run.ncores; ++k) {
    expect_well_formed(k);
    int last_stop = 0;
    const auto& marks = g_marks[k];
    for (size_t i = 0; i < marks.size(); ++i) {
      const Mark& m = marks[i];
      if (m.kind == MarkerKind::RoiBegin) {
        EXPECT_EQ(int(m.source), int(MarkerSource::Console)) << "core " << k;
        ASSERT_LT(i + 1, marks.size());
        EXPECT_EQ(int(marks[i + 1].kind), int(MarkerKind::SkipDone)) << "core " << k << " region " << m.epoch;
      } else if (m.kind == MarkerKind::RoiEnd && m.source == MarkerSource::Console) {
        EXPECT_GT(int(m.id), last_stop) << "core " << k << ": one stop ended two of its regions";
        last_stop = m.id;
      } else if (m.kind == MarkerKind::RoiEnd) {
        EXPECT_TRUE(m.source == MarkerSource::EndOfRun && i + 1 == marks.size())
            << "core " << k << ": region ended by source " << int(m.source);
      }
    }
  }
}

// limit= with exit_on_limit: the limit is declared once, on one core, asks
// QEMU to shut down, and returns (the vCPU thread never exits the process).
TEST(PhaseMachine, LimitIsDeclaredOnceAndAsksForShutdown) {
  SimRun run;
  Options opt;
  opt.limit = 100000;
  opt.exit_on_limit = true;
  setup(run, opt);
  g_shutdowns = 0;
  start_condition(MarkerSource::StartOption, 0, -1);
  std::vector<std::thread> threads;
  run_cores(run, &threads);
  bool reached = wait_for([] { return phase() == Phase::Limit; });
  stop_cores(run, &threads);
  ASSERT_TRUE(reached);
  EXPECT_EQ(run.traced.load(), uint64_t(opt.limit));
  EXPECT_EQ(g_shutdowns.load(), 1);
  for (unsigned k = 0; k < run.ncores; ++k) {
    expect_well_formed(k);
    for (const Mark& m : g_marks[k]) {
      if (m.kind != MarkerKind::RoiBegin && m.source != MarkerSource::EndOfRun) {
        EXPECT_EQ(int(m.kind), int(MarkerKind::LimitReached)) << "core " << k;
      }
    }
  }
}

// A core that found window 1 spent, then lost its host CPU while another
// core ended window 1, counted the gap and began window 2, must not end
// window 2 when it runs again.
TEST(PhaseMachine, AWindowEndFoundLateDoesNotEndTheNextWindow) {
  SimRun run;
  run.ncores = 2;
  Options opt;
  opt.window = 16;
  opt.every = 16 + 8;
  setup(run, opt);
  start_condition(MarkerSource::StartOption, 0, -1);
  Vcpu& slow = g_plugin->vcpus[1];
  ASSERT_TRUE(core_begin(slow, 1));
  uint32_t cap = 16;
  ASSERT_TRUE(take_budget(slow, 1, &cap));  // all of window 1
  slow.rec.cap = cap;
  Drained d = settle_budget(slow, 1, cap);
  ASSERT_TRUE(d.window);  // window 1 is spent: core 1 would declare its end now
  // Meanwhile core 0 ends window 1 and skips the gap into window 2.
  block(run, 0);
  ASSERT_EQ(phase(), Phase::Skipping);
  block(run, 0);
  ASSERT_EQ(phase(), Phase::Tracing);
  uint32_t window2 = g_roi.epoch.load();
  declare_window_end(1, d.window_epoch);  // core 1 runs again
  EXPECT_EQ(phase(), Phase::Tracing) << "window 2 was ended by window 1's end";
  EXPECT_EQ(g_roi.epoch.load(), window2);
  // A count of window 2 ends it as usual.
  declare_window_end(0, window_epoch());
  EXPECT_EQ(phase(), Phase::Skipping);
}

// The guest's stop marker comes while the limit's last instructions are in
// another core's open record (its vCPU thread descheduled by the host): the
// limit ended tracing, and says so; with exit_on_limit QEMU shuts down.
TEST(PhaseMachine, AStopWithTheLimitSpentIsTheLimit) {
  SimRun run;
  run.ncores = 2;
  Options opt;
  opt.limit = 40;
  opt.exit_on_limit = true;
  setup(run, opt);
  g_shutdowns = 0;
  start_condition(MarkerSource::MagicNop, 1, 0);
  Vcpu& held = g_plugin->vcpus[1];
  ASSERT_TRUE(core_begin(held, 1));
  uint32_t cap = 40;
  ASSERT_TRUE(take_budget(held, 1, &cap));  // open record: never settled
  ASSERT_EQ(cap, 40u);
  Marker end;
  ASSERT_TRUE(stop_condition(MarkerSource::MagicNop, 1, 0, &end));
  EXPECT_EQ(int(end.kind), int(MarkerKind::LimitReached));
  EXPECT_EQ(end.value, 40u);
  EXPECT_EQ(phase(), Phase::Limit);
  EXPECT_EQ(g_shutdowns.load(), 1);
  EXPECT_EQ(int(end_marker_for_phase().kind), int(MarkerKind::LimitReached)) << "for the other cores";
  // With budget left, the same stop is the marker's.
  setup(run, opt);
  start_condition(MarkerSource::MagicNop, 1, 0);
  ASSERT_TRUE(stop_condition(MarkerSource::MagicNop, 1, 0, &end));
  EXPECT_EQ(int(end.kind), int(MarkerKind::RoiEnd));
  EXPECT_EQ(int(end.source), int(MarkerSource::MagicNop));
  EXPECT_EQ(phase(), Phase::Off);
}

// A core that loaded the skip period, then lost the CPU while another core
// began a new period, must not add its old batch to the new count.
TEST(SkipCount, AnOldPeriodsBatchDoesNotCountInTheNewOne) {
  std::atomic<uint64_t> word{(uint64_t(2) << kSkipDoneBits) | 100};
  uint64_t total = 0;
  EXPECT_FALSE(add_skipped(word, 1, 4096, &total));
  EXPECT_EQ(word.load() & kSkipDoneMask, 100u);
  EXPECT_EQ(skip_word_period(word.load()), 2u);
  ASSERT_TRUE(add_skipped(word, 2, 4096, &total));
  EXPECT_EQ(total, 4196u);
  EXPECT_EQ(word.load() & kSkipDoneMask, 4196u);
}

}  // namespace
}  // namespace qemutrace::plugin
