#include "budget.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <type_traits>

#include "phase.h"

namespace qemutrace::plugin {

bool g_budgets_on = false;

namespace {

// A core's unused lease of a pool: (pool epoch << 32) | instructions. It is
// an atomic word, not a private counter, so that a starved core can take it
// back when its owner is not running (descheduled by the host, blocked): a
// private lease would be stranded until the owner runs again, possibly after
// the region of interest ended, and the limit would come out short. A word
// whose epoch is not the pool's is worth nothing (a window reset voids it).
struct alignas(64) Lease {
  std::atomic<uint64_t> word{0};
};

// A shared instruction budget (limit=, window=): a global counter plus one
// stealable lease per core. Every instruction of the budget is in exactly
// one place: `global`, a core's lease, or an open record (`Vcpu::rec.cap`).
struct Pool {
  bool active = false;  // fixed after install
  std::atomic<int64_t> global{0};
  std::atomic<uint32_t> epoch{0};  // bumped at every reset
  // Moves between `global` and a lease are two steps; pool_exhausted must
  // not see the budget in neither place: transfers in progress, and done.
  std::atomic<uint64_t> transit{0};
  std::atomic<uint64_t> moved{0};
  Lease* lease = nullptr;  // one per core
  unsigned ncores = 0;
  void init(unsigned n) {
    ncores = n;
    lease = new Lease[n];
    active = false;
  }
  // At install (active: fixed from then on) and at every new window, when
  // only the atomics may change: other cores read the rest unlocked.
  void activate(int64_t n) {
    active = true;
    reset(n);
  }
  void reset(int64_t n) {
    epoch.fetch_add(1);
    global.store(n);
  }
};

// Per core, written by its vCPU only: +1 when a record takes budget, +1 when
// it gives the rest back (odd: a record holds budget).
struct alignas(64) RecordSeq {
  std::atomic<uint32_t> seq{0};
};

// skip= / every=: the skip period (bumped by restart_skip, see
// CoreBudget::skip_epoch) and the instructions all cores skipped in it, in
// one word (skip_word), so that a core still counting for an old period
// cannot add to the new one; and the period's target.
struct SkipCount {
  std::atomic<uint64_t> word{0};
  std::atomic<uint64_t> target{0};
  std::atomic<uint32_t> tail_period{~0u};  // the period whose tail began
};

struct Budgets {
  Pool pool[kBudgets];
  RecordSeq* recseq = nullptr;  // one per core
  unsigned ncores = 1;
  // log2 of the smallest power of two >= 2 * ncores: a skip batch is the
  // remaining count shifted right by it, not divided (a division per
  // skipped block cost more than the rest of the count).
  unsigned skip_batch_shift = 1;
  SkipCount skip;
};
Budgets g_budgets;
static_assert(std::is_trivially_destructible_v<Budgets>, "see Immortal");

Pool& pool(Budget b) { return g_budgets.pool[static_cast<int>(b)]; }
constexpr Budget kAllBudgets[kBudgets] = {Budget::Limit, Budget::Window};

constexpr uint64_t kLeaseMask = 0xffffffffu;

inline uint64_t lease_word(uint32_t epoch, uint64_t amount) { return (uint64_t(epoch) << 32) | amount; }
inline uint64_t lease_amount(uint64_t word, uint32_t epoch) {
  return uint32_t(word >> 32) == epoch ? (word & kLeaseMask) : 0;
}

// Takes up to n instructions from core k's lease.
uint32_t lease_take(Pool& p, unsigned k, uint32_t e, uint32_t n) {
  std::atomic<uint64_t>& w = p.lease[k].word;
  uint64_t cur = w.load(std::memory_order_relaxed);
  for (;;) {
    uint64_t a = lease_amount(cur, e);
    if (a == 0) return 0;
    uint64_t t = std::min<uint64_t>(a, n);
    if (w.compare_exchange_weak(cur, lease_word(e, a - t))) return uint32_t(t);
  }
}

// Adds to core k's lease (epoch e; nothing if the pool was reset since).
void lease_add(Pool& p, unsigned k, uint32_t e, uint64_t n) {
  if (n == 0) return;
  std::atomic<uint64_t>& w = p.lease[k].word;
  uint64_t cur = w.load(std::memory_order_relaxed);
  for (;;) {
    if (p.epoch.load() != e) return;
    if (w.compare_exchange_weak(cur, lease_word(e, lease_amount(cur, e) + n))) return;
  }
}

// Brackets a move between `global` and a lease (seq_cst, see pool_exhausted).
struct Transfer {
  Pool& p;
  explicit Transfer(Pool& pool) : p(pool) { p.transit.fetch_add(1); }
  ~Transfer() {
    p.moved.fetch_add(1);
    p.transit.fetch_sub(1);
  }
};

// Empties core j's lease into the global counter; returns the amount.
uint64_t lease_return(Pool& p, unsigned j, uint32_t e) {
  Transfer t(p);
  uint64_t a = lease_amount(p.lease[j].word.exchange(lease_word(e, 0)), e);
  if (a) p.global.fetch_add(int64_t(a));
  return a;
}

// Starved: take back every other core's unused lease (its owner may not be
// running). True if anything came back.
bool pool_reclaim(Pool& p, unsigned k, uint32_t e) {
  uint64_t got = 0;
  for (unsigned j = 0; j < p.ncores; ++j)
    if (j != k && lease_amount(p.lease[j].word.load(), e)) got += lease_return(p, j, e);
  return got != 0;
}

// Nothing left to hand out: what remains of the budget (if anything) is in
// open records, which end on their own. All seq_cst: a transfer that
// overlaps the reads of `global` and the leases either is still in transit
// at one of the two `transit` reads or has bumped `moved` before the last
// read, so a snapshot with budget between two places is never taken as empty.
// *epoch: the pool's epoch the answer is about (a reset in between: false).
bool pool_exhausted(Pool& p, uint32_t* epoch = nullptr) {
  uint32_t e = p.epoch.load();
  if (p.global.load() != 0) return false;
  uint64_t m = p.moved.load();
  if (p.transit.load() != 0) return false;
  if (p.global.load() != 0) return false;
  for (unsigned j = 0; j < p.ncores; ++j)
    if (lease_amount(p.lease[j].word.load(), e)) return false;
  if (p.transit.load() != 0) return false;
  if (p.moved.load() != m || p.epoch.load() != e) return false;
  if (epoch) *epoch = e;
  return true;
}

// Takes up to n instructions out of pool b for core k's next record.
// Cost per block while the budget is large: one uncontended compare-exchange
// on the core's own lease word (its cache line is not shared). The global
// counter is touched once per lease (at most 1/8 of what is left per core,
// at most 65536), and other cores' leases only when the global counter is
// empty.
uint32_t pool_take(Budget b, Vcpu& v, unsigned k, uint32_t n) {
  Pool& p = pool(b);
  uint32_t e = p.epoch.load(std::memory_order_acquire);
  v.budget.commit_epoch[static_cast<int>(b)] = e;
  uint32_t got = lease_take(p, k, e, n);
  while (got < n) {
    int64_t g = p.global.load();
    if (g <= 0) {
      if (!pool_reclaim(p, k, e)) break;
      continue;
    }
    uint32_t need = n - got;
    int64_t batch = std::min<int64_t>(g / (8 * int64_t(g_budgets.ncores)), 1 << 16);
    int64_t take = std::min<int64_t>(g, std::max<int64_t>(need, batch));
    uint32_t use = uint32_t(std::min<int64_t>(take, need));
    if (take == use) {  // straight into the record
      if (p.global.compare_exchange_weak(g, g - take)) got += use;
    } else {  // the rest becomes this core's lease
      Transfer t(p);
      if (p.global.compare_exchange_weak(g, g - take)) {
        got += use;
        lease_add(p, k, e, uint64_t(take - use));
      }
    }
  }
  return got;
}

// Gives instructions taken by pool_take back to core k's lease.
inline void pool_untake(Budget b, Vcpu& v, unsigned k, uint32_t n) {
  if (n) lease_add(pool(b), k, v.budget.commit_epoch[static_cast<int>(b)], n);
}

inline void recseq_bump(unsigned k) {
  auto& q = g_budgets.recseq[k].seq;
  q.store(q.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// No other core has an open record holding budget. Such a record may end
// early (an exception, an MMIO access that is not the block's last
// instruction) and give budget back, which that core then uses for the
// instructions that follow; declaring the limit before would lose them.
bool others_settled(unsigned k) {
  for (unsigned j = 0; j < g_budgets.ncores; ++j)
    if (j != k && (g_budgets.recseq[j].seq.load(std::memory_order_acquire) & 1)) return false;
  return true;
}

// Starved core k, nothing left to hand out: may it end the budget? Yes once
// the other cores' open records have ended, or when they have not moved for
// kStallNs (their vCPU thread is not running: descheduled by the host, or
// waiting for QEMU's global lock in an MMIO access). A halted vCPU holds no
// record (on_idle ends it). Time, not blocks: on a loaded host a stall
// lasts milliseconds, thousands of the starved core's blocks.
constexpr uint64_t kStallNs = 100'000'000;
bool may_end_budget(Vcpu& v, unsigned k) {
  CoreBudget& cb = v.budget;
  unsigned ncores = g_budgets.ncores;
  if (cb.wait_seq.size() != ncores) cb.wait_seq.assign(ncores, 0);
  bool open = false, moved = false;
  for (unsigned j = 0; j < ncores; ++j) {
    if (j == k) continue;
    uint32_t q = g_budgets.recseq[j].seq.load(std::memory_order_acquire);
    if (q & 1) open = true;
    if (q != cb.wait_seq[j]) {
      cb.wait_seq[j] = q;
      moved = true;
    }
  }
  if (!open) return true;
  if (moved || cb.wait_blocks == 0) {
    cb.wait_blocks = 1;
    cb.wait_since_ns = monotonic_ns();
    return false;
  }
  if ((++cb.wait_blocks & 255) != 0) return false;
  return monotonic_ns() - cb.wait_since_ns >= kStallNs;
}

}  // namespace

void init_budgets(unsigned ncores, int64_t limit, uint64_t window) {
  g_budgets.ncores = ncores;
  g_budgets.skip_batch_shift = unsigned(std::bit_width(2 * uint64_t(std::max(1u, ncores)) - 1));
  g_budgets.recseq = new RecordSeq[ncores];
  for (Pool& p : g_budgets.pool) p.init(ncores);
  if (limit >= 0) pool(Budget::Limit).activate(limit);
  if (window) pool(Budget::Window).activate(int64_t(window));
  g_budgets_on = pool(Budget::Limit).active || pool(Budget::Window).active;
}

void reset_window_budget(uint64_t n) { pool(Budget::Window).reset(int64_t(n)); }

uint32_t window_epoch() { return pool(Budget::Window).epoch.load(); }

bool limit_spent() { return pool(Budget::Limit).active && pool_exhausted(pool(Budget::Limit)); }

bool take_budget(Vcpu& v, unsigned k, uint32_t* cap_io) {
  uint32_t cap = *cap_io;
  uint32_t took[kBudgets] = {0, 0};
  for (Budget b : kAllBudgets) {
    if (!pool(b).active) continue;
    took[static_cast<int>(b)] = pool_take(b, v, k, cap);
    cap = std::min(cap, took[static_cast<int>(b)]);
  }
  for (Budget b : kAllBudgets)
    if (pool(b).active && took[static_cast<int>(b)] > cap) pool_untake(b, v, k, took[static_cast<int>(b)] - cap);
  *cap_io = cap;
  if (cap == 0) {
    v.budget.starved = true;
    // declare_limit / declare_window_end end this core's region (end_region
    // -> core_end -> release_budget) from inside open_record. Safe: no record
    // is open while one is being opened, so only the end marker is written;
    // release_budget only moves lease words; and open_record returns false
    // right after, without touching the sink.
    uint32_t window = 0;
    if (limit_spent()) {
      if (may_end_budget(v, k)) declare_limit(k);
    } else if (pool(Budget::Window).active && pool_exhausted(pool(Budget::Window), &window)) {
      if (may_end_budget(v, k)) declare_window_end(k, window);
    }
    return false;
  }
  recseq_bump(k);  // this record holds budget until settle_budget
  v.budget.wait_blocks = 0;
  if (v.budget.starved) {
    // Budget came back (another core returned it): the stream has a gap.
    v.budget.starved = false;
    v.stream.disc_pending = true;
    v.stream.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Limit, 0, v.stream.last_pc};
  }
  return true;
}

Drained settle_budget(Vcpu& v, unsigned k, uint32_t retired) {
  Drained d;
  if (!budgets_on()) return d;
  recseq_bump(k);
  bool settled = false, checked = false;
  for (Budget b : kAllBudgets) {
    Pool& p = pool(b);
    if (!p.active) continue;
    if (retired < v.rec.cap) pool_untake(b, v, k, v.rec.cap - retired);
    if (!pool_exhausted(p, b == Budget::Window ? &d.window_epoch : nullptr)) continue;
    if (!checked) {
      settled = others_settled(k);
      checked = true;
    }
    (b == Budget::Limit ? d.limit : d.window) = settled;
  }
  return d;
}

void release_budget(unsigned k) {
  for (Pool& p : g_budgets.pool) {
    if (!p.active) continue;
    uint32_t e = p.epoch.load();
    if (lease_amount(p.lease[k].word.load(std::memory_order_relaxed), e)) lease_return(p, k, e);
  }
}

// Called before the phase moves to Skipping (release), which counting
// cores read (acquire) before count_skipped; the other cores' skip_local are
// theirs to write, so they are voided by the epoch, not cleared here. A
// core that saw the previous Skipping may still count into the old period;
// end_skipping then finds its period over (skip_period).
void restart_skip(uint64_t n) {
  SkipCount& s = g_budgets.skip;
  s.target.store(n, std::memory_order_relaxed);
  uint32_t next = (skip_word_period(s.word.load()) + 1) & kSkipPeriodMask;
  s.tail_period.store(n <= kSkipTail ? next : ~0u);
  s.word.store(uint64_t(next) << kSkipDoneBits);
}

bool skip_in_tail() {
  const SkipCount& s = g_budgets.skip;
  return s.tail_period.load() == skip_word_period(s.word.load(std::memory_order_acquire));
}

uint32_t skip_period() { return skip_word_period(g_budgets.skip.word.load(std::memory_order_acquire)); }

bool add_skipped(std::atomic<uint64_t>& word, uint32_t period, uint64_t n, uint64_t* total) {
  uint64_t old = word.load();
  do {
    if (skip_word_period(old) != period) return false;
  } while (!word.compare_exchange_weak(old, old + n));
  *total = (old & kSkipDoneMask) + n;
  return true;
}

bool count_skipped(Vcpu& v, uint64_t n, uint32_t* period, bool* tail_begins) {
  SkipCount& s = g_budgets.skip;
  CoreBudget& cb = v.budget;
  uint64_t word = s.word.load(std::memory_order_acquire);
  uint32_t e = skip_word_period(word);
  if (cb.skip_epoch != e) {  // counted in an earlier skip period
    cb.skip_epoch = e;
    cb.skip_local = 0;
  }
  *period = e;
  cb.skip_local += n;
  uint64_t target = s.target.load(std::memory_order_relaxed);
  uint64_t done = word & kSkipDoneMask;
  uint64_t remaining_guess = target > done ? target - done : 0;
  uint64_t batch = std::min<uint64_t>(4096, (remaining_guess >> g_budgets.skip_batch_shift) + 1);
  if (cb.skip_local < batch) return false;
  uint64_t total = 0;
  bool counted = add_skipped(s.word, e, cb.skip_local, &total);
  cb.skip_local = 0;
  if (!counted) return false;  // the period ended meanwhile
  if (total >= target) return true;
  uint32_t tail = s.tail_period.load();
  *tail_begins = tail != e && total + kSkipTail >= target && s.tail_period.compare_exchange_strong(tail, e);
  return false;
}

}  // namespace qemutrace::plugin
