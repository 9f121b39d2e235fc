// The ROI phase machine: whether the run is off, skipping, tracing, past its
// limit or failed, and the transitions between them. A phase change flushes
// all translations (qemu_plugin_reset), so that blocks are instrumented
// again for the new phase (see translate.cpp).
//
//   Off --start--> Skipping --skip done--> Tracing --stop--> Off
//     \___________start (no skip=)________/  |  \--window end--> Skipping
//                                            |       (every=window: straight
//                                            |        back to Tracing)
//                                            \--limit--> Limit
//   Skipping --stop--> Off
//   any --write error--> Failed
//
// Transitions between vCPU-side states compare and swap (move_phase), so two
// cores cannot both take one; "skip done" passes through Off, which the
// winner holds as a claim until it sets Tracing (phase.cpp, end_skipping).
//
// translate.cpp names the same states by what blocks get (TransMode):
// Off = off, Skipping = skip, Tracing = on, Limit and Failed = dead.
#pragma once

#include <atomic>
#include <cstdint>

#include "qemutrace/writer.h"

namespace qemutrace::plugin {

enum class Phase : int { Off, Skipping, Tracing, Limit, Failed };

struct Roi {
  std::atomic<int> phase{static_cast<int>(Phase::Off)};
  // Bumped at every switch to tracing: a core still "tracing" from an older
  // region ends it (ROI_END) before it records in the new one.
  std::atomic<uint32_t> epoch{0};
  // What started the region (ROI_BEGIN) and what stopped it (ROI_END).
  MarkerSource start_source = MarkerSource::None;
  uint16_t start_id = 0;
  MarkerSource stop_source = MarkerSource::None;
  uint16_t stop_id = 0;
  // The current region is the first (skip=), not a later window (every=).
  std::atomic<bool> first_window{true};
};
extern Roi g_roi;

inline Phase phase() { return static_cast<Phase>(g_roi.phase.load(std::memory_order_acquire)); }
inline void set_phase(Phase p) { g_roi.phase.store(static_cast<int>(p), std::memory_order_release); }

// Transitions, from vCPU threads (or from the control socket through vCPU 0).
void start_condition(MarkerSource src, uint16_t id, int core);  // marker, console, start=now
// False if the phase was no longer Tracing or Skipping (a limit, a failure
// or another stop came first).
bool stop_condition(MarkerSource src, uint16_t id, int core);
void declare_limit(unsigned k);       // the limit= budget is spent
void declare_window_end(unsigned k);  // the window= budget is spent
void end_skipping(unsigned k);        // skip= (or every=) instructions went by

// The marker that ends a core's region when the phase left Tracing.
Marker end_marker_for_phase();

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
