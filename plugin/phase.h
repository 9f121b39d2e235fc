// The ROI phase machine: whether the run is off, skipping, tracing, past its
// limit or failed, and the transitions between them. A phase change flushes
// all translations (qemu_plugin_reset), so that blocks are instrumented
// again for the new phase (see translate.cpp); a window's end and the end of
// the gap after it do not (the gap runs traced translations).
//
//   Off --start--> Skipping --skip done--> Tracing --stop--> Off
//     \___________start (no skip=)________/  |  \--window end--> Skipping
//                                            |       (every=window: straight
//                                            |        back to Tracing)
//                                            \--limit--> Limit
//   Skipping --stop--> Off
//   any --write error--> Failed
//
// Every transition is one core's: it claims the phase (compare and swap from
// the phases it may leave to Changing), writes what readers of the next
// phase need (the skip count, the window budget, the region epoch), and
// then publishes the next phase (release). A core that sees a phase
// (acquire) therefore also sees everything written for it. Everyone else
// waits while the phase is Changing (a few stores, nothing that can block or
// call back into the plugin): phase() never returns it.
//
// What starts and stops a region travels in the same word as the phase, so
// one load gives a core the phase and the markers that go with it.
//
// translate.cpp names the same states by what blocks get (TransMode):
// Off = off, Skipping = skip, Tracing = on, Limit and Failed = dead.
#pragma once

#include <atomic>
#include <cstdint>

#include "qemutrace/writer.h"

namespace qemutrace::plugin {

enum class Phase : int { Off, Skipping, Tracing, Limit, Failed, Changing };

// The phase and the markers of the current (or last) region, as one word.
struct RoiState {
  Phase phase = Phase::Off;
  // The region is the first after a start (skip=), not a later window
  // (every=).
  bool first_window = true;
  // The region began after skip= instructions: each core writes SKIP_DONE
  // after its ROI_BEGIN.
  bool after_skip = false;
  // What started the region (ROI_BEGIN) and what stopped the last one
  // (ROI_END; MarkerSource::Limit: LIMIT_REACHED).
  MarkerSource start_source = MarkerSource::None;
  uint16_t start_id = 0;
  MarkerSource stop_source = MarkerSource::None;
  uint16_t stop_id = 0;

  uint64_t pack() const {
    return uint64_t(phase) | uint64_t(first_window) << 4 | uint64_t(after_skip) << 5 |
           uint64_t(stop_source) << 8 | uint64_t(stop_id) << 16 | uint64_t(start_source) << 32 |
           uint64_t(start_id) << 40;
  }
  static RoiState unpack(uint64_t w) {
    RoiState s;
    s.phase = Phase(w & 0xf);
    s.first_window = (w >> 4) & 1;
    s.after_skip = (w >> 5) & 1;
    s.stop_source = MarkerSource(uint8_t(w >> 8));
    s.stop_id = uint16_t(w >> 16);
    s.start_source = MarkerSource(uint8_t(w >> 32));
    s.start_id = uint16_t(w >> 40);
    return s;
  }
};

struct Roi {
  std::atomic<uint64_t> word{RoiState{}.pack()};
  // Bumped at every switch to tracing: a core still "tracing" from an older
  // region ends it (ROI_END) before it records in the new one.
  std::atomic<uint32_t> epoch{0};
};
extern Roi g_roi;

// The word once no transition is under way. A claim is held by another
// thread for a few stores, so the wait is short; nothing under a claim reads
// the phase. A core that took Changing for a phase would end its region for
// a transition that may be undone (a window end found late) and begin it
// again in the same epoch.
uint64_t settled_word();
inline uint64_t roi_word() {
  uint64_t w = g_roi.word.load(std::memory_order_acquire);
  if (__builtin_expect((w & 0xf) == uint64_t(Phase::Changing), 0)) w = settled_word();
  return w;
}
inline Phase phase() { return Phase(roi_word() & 0xf); }
inline RoiState roi_state() { return RoiState::unpack(roi_word()); }

// The state and the epoch of one moment (a core beginning its region).
struct RoiView {
  RoiState state;
  uint32_t epoch = 0;
};
RoiView roi_view();

// Sets the phase outright, keeping the markers: at install (no vCPU runs
// yet) and on a write failure, which wins over any transition under way.
void force_phase(Phase p);

// Transitions, from vCPU threads (or from the control socket through vCPU 0).
void start_condition(MarkerSource src, uint16_t id, int core);  // marker, console, start=now
// False if the phase was no longer Tracing or Skipping (a limit, a failure
// or another stop came first). A stop that finds the limit= budget spent
// (its last instructions still in another core's open record) is the
// limit's: LIMIT_REACHED, as if that record had ended first. *end: the
// marker that ends the stopping core's region.
bool stop_condition(MarkerSource src, uint16_t id, int core, Marker* end = nullptr);
void declare_limit(unsigned k);  // the limit= budget is spent
// The window= budget of window `window` (window_epoch()) is spent; nothing
// if that window is over (its end was declared and a new one began).
void declare_window_end(unsigned k, uint32_t window);
// skip= (or every=) instructions went by in skip period `period`
// (count_skipped); nothing if that period is over.
void end_skipping(unsigned k, uint32_t period);

// The marker that ends a core's region when the phase left Tracing.
Marker end_marker_for(const RoiState& s);
inline Marker end_marker_for_phase() { return end_marker_for(roi_state()); }

// Translation flushes (qemu_plugin_reset) that re-instrument for the phase.
void request_reset_vcpu();  // from a vCPU thread (a callback)
void request_reset_any();   // from any other thread
// A flush requested from another thread without a vCPU to run it: the next
// idle or marker callback does it.
void reset_if_requested();
// Completed flushes: after one that follows a stop, no block translated
// while tracing can run (and close a record) any more.
uint64_t resets_done();
uint64_t reset_requests();

}  // namespace qemutrace::plugin
