#include "phase.h"

#include <cstdlib>
#include <string>
#include <type_traits>

#include "budget.h"
#include "core.h"
#include "main.h"
#include "qemu_shim.h"
#include "record.h"

namespace qemutrace::plugin {

Roi g_roi;
static_assert(std::is_trivially_destructible_v<Roi>, "see Immortal");

namespace {

// qemu_plugin_reset calls: requested and completed. (Each also flushes the
// translations; translate.cpp's flushes() counts those, reset or not.)
struct Resets {
  std::atomic<bool> from_idle{false};
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> requests{0};
};
Resets g_resets;
static_assert(std::is_trivially_destructible_v<Resets>, "see Immortal");

void on_reset_done(qemu_plugin_id_t) {
  register_callbacks();
  g_resets.done.fetch_add(1, std::memory_order_release);
}

bool move_phase(Phase from, Phase to) {
  int expected = static_cast<int>(from);
  return g_roi.phase.compare_exchange_strong(expected, static_cast<int>(to));
}

void begin_tracing_phase(MarkerSource src, uint16_t id, int core) {
  g_roi.start_source = src;
  g_roi.start_id = id;
  if (g_plugin->opt.window) reset_window_budget(g_plugin->opt.window);
  g_roi.epoch.fetch_add(1, std::memory_order_acq_rel);
  set_phase(Phase::Tracing);
  event("roi_begin", src, id, core);
  // The guest started it: say so, as the console does for its own starts.
  if (src == MarkerSource::LegacyInt)
    say("tracing started by int $100 on core " + std::to_string(core));
  else if (src == MarkerSource::MagicNop)
    say("tracing started by marker " + std::to_string(id) + " on core " + std::to_string(core));
}

}  // namespace

void request_reset_vcpu() {
  g_resets.requests.fetch_add(1, std::memory_order_relaxed);
  qemu_plugin_reset(g_plugin->id, on_reset_done);
}

void request_reset_any() {
  if (!shim::run_on_vcpu0(request_reset_vcpu)) g_resets.from_idle.store(true);
}

void reset_if_requested() {
  if (g_resets.from_idle.exchange(false)) request_reset_vcpu();
}

uint64_t resets_done() { return g_resets.done.load(std::memory_order_acquire); }
uint64_t reset_requests() { return g_resets.requests.load(); }

void start_condition(MarkerSource src, uint16_t id, int core) {
  const Options& opt = g_plugin->opt;
  g_roi.first_window.store(true);
  if (opt.skip) {
    g_roi.start_source = src;
    g_roi.start_id = id;
    restart_skip(opt.skip);
    set_phase(Phase::Skipping);
    event("skip_begin", src, id, core, std::to_string(opt.skip));
  } else {
    begin_tracing_phase(src, id, core);
  }
}

bool stop_condition(MarkerSource src, uint16_t id, int core) {
  // Set before the phase moves, for the cores that see Off (they read it in
  // end_marker_for_phase). Compare-and-swap: a limit declared concurrently
  // (Tracing -> Limit) must not be turned back into Off.
  g_roi.stop_source = src;
  g_roi.stop_id = id;
  if (!move_phase(Phase::Tracing, Phase::Off) && !move_phase(Phase::Skipping, Phase::Off)) return false;
  event("roi_end", src, id, core);
  return true;
}

Marker end_marker_for_phase() {
  if (phase() == Phase::Limit)
    return Marker{MarkerKind::LimitReached, MarkerSource::Limit, 0, uint64_t(g_plugin->opt.limit)};
  return Marker{MarkerKind::RoiEnd, g_roi.stop_source, g_roi.stop_id, 0};
}

void declare_limit(unsigned k) {
  if (!move_phase(Phase::Tracing, Phase::Limit)) return;
  const Options& opt = g_plugin->opt;
  end_region(g_plugin->vcpus[k], k);  // its budget ran out
  event("limit_reached", MarkerSource::Limit, -1, int(k), std::to_string(opt.limit));
  say("instruction limit " + std::to_string(opt.limit) + " reached");
  request_reset_vcpu();
  if (opt.exit_on_limit && !shim::request_shutdown())
    exit(0);  // the atexit callback finishes the files
}

void declare_window_end(unsigned k) {
  if (!move_phase(Phase::Tracing, Phase::Skipping)) return;
  const Options& opt = g_plugin->opt;
  g_roi.stop_source = MarkerSource::Window;
  g_roi.stop_id = 0;
  uint64_t gap = opt.every - opt.window;
  restart_skip(gap);
  g_roi.first_window.store(false);
  event("roi_end", MarkerSource::Window, -1, int(k));
  end_region(g_plugin->vcpus[k], k);  // its budget ran out
  if (gap == 0) begin_tracing_phase(MarkerSource::Window, 0, int(k));  // every == window: no gap
  request_reset_vcpu();
}

void end_skipping(unsigned k) {
  // Off is only a claim: the one core that moves Skipping -> Off goes on to
  // Tracing; the others, and stale skip blocks, see no Skipping any more.
  if (!move_phase(Phase::Skipping, Phase::Off)) return;
  bool first = g_roi.first_window.load();
  if (first && g_plugin->opt.skip)  // other vCPUs read theirs meanwhile
    for (auto& w : g_plugin->vcpus)
      std::atomic_ref<bool>(w.region.skip_done_pending).store(true, std::memory_order_relaxed);
  begin_tracing_phase(first ? g_roi.start_source : MarkerSource::Window, first ? g_roi.start_id : 0,
                      int(k));
  request_reset_vcpu();
}

}  // namespace qemutrace::plugin
