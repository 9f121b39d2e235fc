// Instruction budgets: limit= and window= (shared pools that records take
// instructions from) and skip= / every= (instructions to let go by before a
// region). Every record's instructions are taken from the active pools when
// it opens and what did not retire goes back when it closes.
#pragma once

#include <atomic>
#include <cstdint>

#include "core.h"

namespace qemutrace::plugin {

// Sets up the pools for ncores cores (install).
void init_budgets(unsigned ncores, int64_t limit, uint64_t window);
// A new window of n instructions (earlier leases become worthless).
void reset_window_budget(uint64_t n);

// limit= or window= given: records take budget. Fixed after install; read
// inline on every block.
extern bool g_budgets_on;
inline bool budgets_on() { return g_budgets_on; }

// Takes the budget of a record of *cap instructions out of the active pools;
// lowers *cap to what was granted. False if none is left (the core is then
// starved, and the limit or window end may be declared here).
bool take_budget(Vcpu& v, unsigned k, uint32_t* cap);

// The open record ended having retired `retired` of its cap (<= cap): the
// rest goes back to the core's lease. A pool is `drained` when it has nothing
// left to hand out and no other core holds budget in an open record.
struct Drained {
  bool limit = false;
  bool window = false;
  uint32_t window_epoch = 0;  // the window found spent (window_epoch())
};
Drained settle_budget(Vcpu& v, unsigned k, uint32_t retired);

// The current window (bumped by reset_window_budget). A window end is
// declared for the window found spent, not for one begun since.
uint32_t window_epoch();

// limit= is given and has nothing left to hand out: what remains of it is
// in open records.
bool limit_spent();

// Core k stops recording or goes idle: its unused leases go back.
void release_budget(unsigned k);

// skip= / every=: starts counting n instructions to skip, in a new skip
// period. Only under a phase transition's claim (phase.cpp), before it
// publishes Skipping.
void restart_skip(uint64_t n);
// Counts n skipped instructions on core v; true when the target of the
// period it counted in (*period) is reached. *tail_begins: this count
// reached the skip's tail (skip_in_tail), so the caller asks for the flush.
bool count_skipped(Vcpu& v, uint64_t n, uint32_t* period, bool* tail_begins);
// The current skip period.
uint32_t skip_period();

// The last kSkipTail instructions of a skip (all of a shorter one) run in
// blocks translated for tracing, as a gap between windows does: the region
// then begins at the skip's end without waiting for a flush, which a loaded
// host may delay by tens of milliseconds (millions of skipped-mode
// instructions). Only the switch into the tail waits for one.
constexpr uint64_t kSkipTail = uint64_t(1) << 26;
// The current skip period is in its tail.
bool skip_in_tail();

// The skip count's word: the period in the top bits, the instructions
// skipped in it below.
constexpr unsigned kSkipDoneBits = 48;
constexpr uint64_t kSkipDoneMask = (uint64_t(1) << kSkipDoneBits) - 1;
constexpr uint32_t kSkipPeriodMask = 0xFFFF;
constexpr uint32_t skip_word_period(uint64_t word) { return uint32_t(word >> kSkipDoneBits); }
// Adds n to word's count if word is still in `period`; *total is the new
// count. False, adding nothing, once another period has begun.
bool add_skipped(std::atomic<uint64_t>& word, uint32_t period, uint64_t n, uint64_t* total);

}  // namespace qemutrace::plugin
