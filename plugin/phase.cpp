#include "phase.h"

#include <initializer_list>
#include <string>
#include <thread>
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
  // QEMU runs this with every vCPU stopped. After a stop, a core whose next
  // blocks are all translated afresh (untraced) would call nothing that ends
  // its region, which would then end only at exit: end them all here.
  Phase ph = phase();
  if (ph != Phase::Tracing && ph != Phase::Skipping) end_every_region();
  register_callbacks();
  g_resets.done.fetch_add(1, std::memory_order_release);
}

// A transition in progress: the word this core swapped out (from) and its
// own claim (Changing, with the markers the transition sets).
struct Claim {
  RoiState from;
  uint64_t claimed = 0;
};

bool is_one_of(Phase p, std::initializer_list<Phase> set) {
  for (Phase q : set)
    if (p == q) return true;
  return false;
}

uint64_t wait_unless_changing() {
  uint64_t w = g_roi.word.load(std::memory_order_acquire);
  while (RoiState::unpack(w).phase == Phase::Changing) {
    std::this_thread::yield();
    w = g_roi.word.load(std::memory_order_acquire);
  }
  return w;
}

// Claims the phase if it is one of `from`, after any transition under way.
// set_markers sets what the claim carries already: the marker that ends the
// region, for the cores that end theirs while it is held. The wait is short:
// a claim is held for a few stores, by another thread (no claimed section
// calls back into QEMU or the plugin).
template <class F>
bool claim(std::initializer_list<Phase> from, Claim* c, F&& set_markers) {
  uint64_t w = wait_unless_changing();
  for (;;) {
    RoiState s = RoiState::unpack(w);
    if (s.phase == Phase::Changing) {
      w = wait_unless_changing();
      continue;
    }
    if (!is_one_of(s.phase, from)) return false;
    RoiState next = s;
    next.phase = Phase::Changing;
    set_markers(next);
    if (g_roi.word.compare_exchange_weak(w, next.pack(), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      c->from = s;
      c->claimed = next.pack();
      return true;
    }
  }
}

// Ends a claim with phase `to` (and the markers in `to`), publishing what
// was written under it. False if a write failure (force_phase) came first.
bool publish(const Claim& c, RoiState to) {
  uint64_t w = c.claimed;
  return g_roi.word.compare_exchange_strong(w, to.pack(), std::memory_order_release,
                                            std::memory_order_relaxed);
}

// Under a claim: a new region with the markers of `s`, published as Tracing.
bool begin_tracing_phase(const Claim& c, RoiState s) {
  if (g_plugin->opt.window) reset_window_budget(g_plugin->opt.window);
  // Release: a core that reads this epoch (roi_view) then reads the word
  // as claimed here or later, never the word of the region before.
  g_roi.epoch.fetch_add(1, std::memory_order_release);
  s.phase = Phase::Tracing;
  return publish(c, s);
}

// The event of a region's beginning; a start by the guest is also said on
// the terminal, as the console says its own.
void announce_begin(MarkerSource src, uint16_t id, int core) {
  event("roi_begin", src, id, core);
  if (src == MarkerSource::LegacyInt)
    say("tracing started by int $100 on core " + std::to_string(core));
  else if (src == MarkerSource::MagicNop)
    say("tracing started by marker " + std::to_string(id) + " on core " + std::to_string(core));
}

// The limit ended tracing (declared, or found spent by a stop).
void announce_limit(int core) {
  const Options& opt = g_plugin->opt;
  event("limit_reached", MarkerSource::Limit, -1, core, std::to_string(opt.limit));
  say("instruction limit reached after " + std::to_string(opt.limit) + " instructions; tracing stopped");
  if (opt.exit_on_limit) shim::request_shutdown();  // the atexit callback finishes the files
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

uint64_t settled_word() { return wait_unless_changing(); }

RoiView roi_view() {
  // The epoch moves before the word that publishes it (begin_tracing_phase):
  // an epoch unchanged around the word's load is the epoch of that word.
  for (;;) {
    uint32_t e = g_roi.epoch.load(std::memory_order_acquire);
    uint64_t w = roi_word();
    if (g_roi.epoch.load(std::memory_order_acquire) == e) return RoiView{RoiState::unpack(w), e};
  }
}

void force_phase(Phase p) {
  uint64_t w = g_roi.word.load(std::memory_order_relaxed);
  for (;;) {
    RoiState s = RoiState::unpack(w);
    s.phase = p;
    if (g_roi.word.compare_exchange_weak(w, s.pack(), std::memory_order_acq_rel)) return;
  }
}

void start_condition(MarkerSource src, uint16_t id, int core) {
  const Options& opt = g_plugin->opt;
  // Only from Off. A skip ending holds Changing, not Off, so a start that
  // meets it waits, then finds Tracing and does nothing (before, it took the
  // skip's transient Off for Off and restarted the skip under it).
  Claim c;
  if (!claim({Phase::Off}, &c, [](RoiState&) {})) return;
  RoiState s = c.from;
  s.first_window = true;
  s.after_skip = false;
  s.start_source = src;
  s.start_id = id;
  if (opt.skip) {
    restart_skip(opt.skip);
    s.phase = Phase::Skipping;
    if (publish(c, s)) event("skip_begin", src, id, core, std::to_string(opt.skip));
  } else if (begin_tracing_phase(c, s)) {
    announce_begin(src, id, core);
  }
}

bool stop_condition(MarkerSource src, uint16_t id, int core, Marker* end) {
  // From Tracing or Skipping only: a limit or a failure that came first
  // stays. The stop marker rides in the claim, for the cores that see it.
  // A core whose vCPU thread the host descheduled may hold the limit's last
  // instructions in an open record for longer than the guest takes to reach
  // its stop (budget.cpp, may_end_budget): the limit ended tracing then.
  Claim c;
  bool limit = false;
  auto stop = [&](RoiState& s) {
    limit = limit_spent();  // nothing more could be traced in any region
    s.stop_source = limit ? MarkerSource::Limit : src;
    s.stop_id = limit ? 0 : id;
  };
  if (!claim({Phase::Tracing, Phase::Skipping}, &c, stop)) return false;
  RoiState s = RoiState::unpack(c.claimed);
  s.phase = limit ? Phase::Limit : Phase::Off;
  if (!publish(c, s)) return false;
  if (end) *end = end_marker_for(s);
  if (limit) announce_limit(core);
  else event("roi_end", src, id, core);
  return true;
}

Marker end_marker_for(const RoiState& s) {
  if (s.stop_source == MarkerSource::Limit)
    return Marker{MarkerKind::LimitReached, MarkerSource::Limit, 0, uint64_t(g_plugin->opt.limit)};
  return Marker{MarkerKind::RoiEnd, s.stop_source, s.stop_id, 0};
}

void declare_limit(unsigned k) {
  Claim c;
  auto limit = [](RoiState& s) {
    s.stop_source = MarkerSource::Limit;
    s.stop_id = 0;
  };
  if (!claim({Phase::Tracing}, &c, limit)) return;
  RoiState s = RoiState::unpack(c.claimed);
  s.phase = Phase::Limit;
  if (!publish(c, s)) return;
  end_region(g_plugin->vcpus[k], k);  // its budget ran out
  request_reset_vcpu();
  announce_limit(int(k));
}

void declare_window_end(unsigned k, uint32_t window) {
  Claim c;
  auto window_stop = [](RoiState& s) {
    s.stop_source = MarkerSource::Window;
    s.stop_id = 0;
  };
  if (!claim({Phase::Tracing}, &c, window_stop)) return;
  // A core may find a window spent, then lose its host CPU while another
  // core ends that window, skips the gap and begins the next: ending that
  // one too would cut it short. The phase goes back as it was.
  if (window_epoch() != window) {
    publish(c, c.from);
    return;
  }
  // Everything the cores that see Skipping read (the skip target and count)
  // is written before Skipping is published.
  const Options& opt = g_plugin->opt;
  RoiState s = RoiState::unpack(c.claimed);
  s.first_window = false;
  s.after_skip = false;
  uint64_t gap = opt.every - opt.window;
  bool ok;
  if (gap == 0) {  // every == window: no gap, straight into the next window
    s.start_source = MarkerSource::Window;
    s.start_id = 0;
    ok = begin_tracing_phase(c, s);
  } else {
    restart_skip(gap);
    s.phase = Phase::Skipping;
    ok = publish(c, s);
  }
  if (!ok) return;
  event("roi_end", MarkerSource::Window, -1, int(k));
  end_region(g_plugin->vcpus[k], k);  // its budget ran out
  if (gap == 0) announce_begin(MarkerSource::Window, 0, int(k));
  // No flush: the gap between windows runs the blocks translated for
  // tracing (translate.cpp), which count it while the phase is Skipping. A
  // flush per window end and per gap end cost more than the windows.
}

void end_skipping(unsigned k, uint32_t period) {
  Claim c;
  if (!claim({Phase::Skipping}, &c, [](RoiState&) {})) return;
  // A core may have counted its last skip block in a period that has since
  // ended and been replaced by a new one (a window end's restart_skip, under
  // its claim): its count says nothing about the new period, which goes on.
  // The phase goes back as it was (no flush: nothing changed).
  if (period != skip_period()) {
    publish(c, c.from);
    return;
  }
  RoiState s = c.from;
  bool first = s.first_window;
  s.after_skip = first && g_plugin->opt.skip;
  if (!first) {
    s.start_source = MarkerSource::Window;
    s.start_id = 0;
  }
  if (!begin_tracing_phase(c, s)) return;
  announce_begin(s.start_source, s.start_id, int(k));
  // A skip reaches its end in blocks translated for tracing (its tail),
  // unless one count crossed into its tail and past its end at once.
  if (first && !skip_in_tail()) request_reset_vcpu();
}

}  // namespace qemutrace::plugin
