// libqemutrace.so: full-system, per-core instruction tracing for unmodified
// QEMU (plugin API v4). See docs/plugin.md for the options and the recording
// rules. The plugin writes no format bytes itself: everything goes through
// qemutrace::RunWriter / TraceSink.
//
// Translation modes (chosen from the global phase when a block is translated;
// a phase change flushes all blocks with qemu_plugin_reset):
//   off   - only marker instructions get a callback. A block holding a START
//           marker (or the watched return point of an `int $100`) is also
//           instrumented after that point, gated by the per-core state,
//           because the rest of that block runs before the flush.
//   skip  - markers plus one counting callback per block (skip= / every=).
//   on    - one callback per executed block, an inline scoreboard store of
//           the instruction index before each instruction that can stop
//           the block (and its first and last), one memory
//           callback per access, callbacks on markers and on instructions
//           that may change translations (CR3 writes among them).
//   dead  - nothing (limit reached, or the trace failed).
#include <dlfcn.h>
#include <glib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

extern "C" {
#include <qemu-plugin.h>
}

#include "arch/arch.h"
#include "control.h"
#include "options.h"
#include "qemutrace/writer.h"

extern "C" {
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
}

namespace qemutrace::plugin {
namespace {

enum class Phase : int { Off, Skipping, Tracing, Limit, Failed };
enum class TransMode { Off, Skip, On, Dead };

// Accesses per record; the format allows 65536 per EXEC. A REP string
// instruction is split into several retired instances beyond this.
constexpr uint32_t kMaxAccPerRecord = 65536 - 2;

struct TbInfo;

struct Site {  // userdata of a marker callback
  TbInfo* tb = nullptr;
  uint32_t idx = 0;  // instruction index in the TB
  MarkerType type = MarkerType::None;
  bool watch = false;  // return point of an `int $100`
  uint16_t id = 0;
  uint64_t pc = 0;
  const StaticBlock* sub = nullptr;  // block recorded when tracing starts here
  int32_t sub_base = 0;              // record index = tb index + sub_base
};

struct InsnRef {  // userdata of a memory callback
  TbInfo* tb;
  uint32_t idx;
};

// Per translated block. The fields every execution reads come first and
// share one cache line: kernel-heavy code runs through thousands of blocks,
// and the execution callback's cost is mostly the misses on this struct.
struct alignas(64) TbInfo {
  uint64_t vaddr = 0;
  // Successors that continue the stream without a discontinuity (both the
  // same for one possible successor); any_next: not predictable.
  uint64_t next_a = 0, next_b = 0;
  uint64_t last_pc = 0;
  const StaticBlock* sb = nullptr;  // whole block (on mode)
  const InsnRef* ref0 = nullptr;    // refs.data(): memory callbacks' userdata
  uint32_t n = 0;
  uint8_t cpl = 0;
  bool any_next = false;
  // A whole execution ends the record with nothing to check but the
  // successor (and the last instruction's access, if it must make one): the
  // last instruction is not a REP string.
  bool plain_end = false;
  bool last_rep = false;
  bool last_must_access = false;
  bool paging = false;  // translated with paging on (translation cache usable)
  // Cold.
  const StaticBlock* rep_sb = nullptr;  // the last instruction alone (REP split)
  uint64_t fallthrough = 0;
  std::vector<InsnRef> refs;  // per instruction
  std::vector<uint64_t> pcs;  // per instruction
  std::vector<Site> sites;
};

// One cache line per vCPU: every block stores into its entry inline, and
// entries of different vCPUs on one line made the cores fight over it.
struct alignas(64) ScoreEntry {
  uint64_t idx;    // index in its TB of the last instruction that started and
                   // could stop the block (see on_tb_trans)
  uint64_t count;  // count_check: instructions started while recording
};
static_assert(sizeof(ScoreEntry) == 64, "one scoreboard entry per cache line");

// Recent virtual-to-physical page translations of one core, so that most
// accesses skip QEMU's TLB lookup. An entry is valid while `gen` matches the
// core's generation, which moves at every instruction that may change the
// core's translations and when paging is off (reset); architecturally a
// mapping change is not visible before such an instruction on this core.
struct XlatEntry {
  uint64_t vpage = 0;
  uint64_t pframe = 0;
  uint32_t gen = 0;
  uint32_t mmu_idx = 0;
};
constexpr unsigned kXlatEntries = 64;

struct alignas(64) Vcpu {
  TraceSink* sink = nullptr;
  ScoreEntry* score = nullptr;  // this core's entry; refetched after a flush
  bool tracing = false;  // ROI_BEGIN written, ROI_END not yet
  uint32_t epoch = 0;
  // The open record.
  const StaticBlock* rec = nullptr;
  uint32_t rec_n = 0;  // rec->insn_count, without touching rec
  TbInfo* exec = nullptr;
  int32_t base = 0;
  uint32_t cap = 0;
  uint32_t acc_count = 0;
  int32_t last_acc = -1;
  int32_t io_done = -1;  // record index of an I/O instruction QEMU re-ran alone
  // Context.
  bool ctx_valid = false;
  bool asid_dirty = true;
  uint8_t cpl = 0;
  uint64_t asid = 0;
  uint64_t last_pc = 0;  // last retired instruction
  bool disc_pending = false;
  Marker disc;
  // Budget pools (0 limit, 1 window): the open record's instructions (cap)
  // are taken out of each active pool when it opens; commit_epoch is the
  // pool epoch they were taken in.
  uint32_t commit_epoch[2] = {0, 0};
  bool starved = false;
  // While starved with the budget all in other cores' open records: their
  // record counters when last seen, and starved blocks since one moved.
  std::vector<uint32_t> wait_seq;
  uint32_t wait_blocks = 0;
  uint64_t wait_since_ns = 0;
  // The successors the last closed record allows, until checked (at its
  // close, or at the next block if the vCPU went idle first).
  struct Successors {
    bool pending = false, any = false;
    uint64_t a = 0, b = 0, rep_pc = 0;
  } succ;
  bool skip_done_pending = false;
  uint64_t skip_local = 0;
  uint64_t blocks = 0;
  // count_check bookkeeping.
  uint64_t check_start = 0;
  uint64_t check_inline = 0;
  uint64_t faults = 0;
  uint64_t cut_excess = 0;
  uint64_t rep_merges = 0;
  uint64_t rep_splits = 0;
  uint32_t xlat_gen = 1;
  XlatEntry xlat[kXlatEntries];
};

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
// one place: `global`, a core's lease, or an open record (`Vcpu::cap`).
struct Pool {
  bool active = false;  // fixed after install
  std::atomic<int64_t> global{0};
  std::atomic<uint32_t> epoch{0};  // bumped at every reset
  // Moves between `global` and a lease are two steps; pool_exhausted must
  // not see the budget in neither place: transfers in progress, and done.
  std::atomic<uint64_t> transit{0};
  std::atomic<uint64_t> moved{0};
  int64_t total = 0;
  Lease* lease = nullptr;  // one per core
  unsigned ncores = 0;
  void init(unsigned n) {
    ncores = n;
    lease = new Lease[n];
  }
  void reset(int64_t n) {
    total = n;
    epoch.fetch_add(1);
    global.store(n);
    active = true;
  }
};

// ---- globals ---------------------------------------------------------------
qemu_plugin_id_t g_id;
// Globals live on the heap and are never destroyed: QEMU's atexit callback
// runs after this library's static destructors.
Options& g_opt = *new Options;
Arch* g_arch = nullptr;
RunWriter* g_run = nullptr;
std::vector<Vcpu>& g_v = *new std::vector<Vcpu>;
unsigned g_ncores = 1;
qemu_plugin_scoreboard* g_score = nullptr;
std::atomic<int> g_phase{static_cast<int>(Phase::Off)};
Pool* g_pool = new Pool[2];
bool g_pools_on = false;  // limit= or window= given: records take budget
// Per core, written by its vCPU only: +1 when a record takes budget, +1 when
// it gives the rest back (odd: a record holds budget).
struct alignas(64) RecordSeq {
  std::atomic<uint32_t> seq{0};
};
RecordSeq* g_recseq = nullptr;
std::atomic<uint64_t> g_skipped{0};
uint64_t g_skip_target = 0;
std::atomic<bool> g_first_window{true};
// Bumped at every switch to tracing: a core still "tracing" from an older
// region ends it (ROI_END) before it records in the new one.
std::atomic<uint32_t> g_epoch{0};
MarkerSource g_roi_source = MarkerSource::None;
uint16_t g_roi_id = 0;
MarkerSource g_stop_source = MarkerSource::None;
uint16_t g_stop_id = 0;
std::atomic<bool> g_failed_reported{false};
std::atomic<bool> g_finished{false};
bool g_nop_markers = true, g_int_markers = true, g_phys = true, g_values = false,
     g_count_check = false;
qemu_plugin_register* g_reg_priv = nullptr;
qemu_plugin_register* g_reg_asid = nullptr;
qemu_plugin_register* g_reg_mode = nullptr;
std::once_flag g_regs_once;
std::mutex g_watch_mu;
std::unordered_set<uint64_t>& g_watch = *new std::unordered_set<uint64_t>;
// Pending legacy starts: return point -> address space of the `int $100`.
// Global, not per core: the process may resume on another vCPU.
std::unordered_map<uint64_t, uint64_t>& g_int_pending = *new std::unordered_map<uint64_t, uint64_t>;  // return points of executed int $100
std::mutex g_tb_mu;
std::vector<TbInfo*>& g_tbs = *new std::vector<TbInfo*>;  // TbInfos of the current translation generation
ControlServer& g_ctl = *new ControlServer;
std::mutex g_event_mu;

// Internal QEMU entry points Debian's binary exports (looked up at run time).
union RunOnCpuData {
  void* host_ptr;
  uint64_t u;
};
using RunOnCpuFunc = void (*)(void* cpu, RunOnCpuData);
void (*p_async_run_on_cpu)(void* cpu, RunOnCpuFunc, RunOnCpuData) = nullptr;
void* (*p_qemu_get_cpu)(int index) = nullptr;
void (*p_shutdown_request)(int cause) = nullptr;
std::atomic<bool> g_reset_from_idle{false};
std::atomic<uint64_t> g_stat_flushes{0}, g_stat_trans{0}, g_stat_resets{0};

Phase phase() { return static_cast<Phase>(g_phase.load(std::memory_order_acquire)); }
void set_phase(Phase p) { g_phase.store(static_cast<int>(p), std::memory_order_release); }

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

void say(const std::string& s) {
  if (!g_opt.quiet) fprintf(stderr, "qemutrace: %s\n", s.c_str());
}

void event(const char* name, MarkerSource src, int id, int core, std::string detail = {}) {
  if (!g_run) return;
  ManifestEvent ev;
  ev.time_ns = now_ns();
  ev.event = name;
  ev.source = std::string(marker_source_name(src));
  ev.id = id;
  ev.core = core;
  ev.detail = std::move(detail);
  std::lock_guard<std::mutex> lk(g_event_mu);
  g_run->add_event(ev);
}

// The scoreboard only moves when QEMU grows it, and it flushes all blocks
// then (on_flush clears the cached pointers), so one lookup per flush.
ScoreEntry* score(unsigned k) {
  Vcpu& v = g_v[k];
  if (!v.score) v.score = static_cast<ScoreEntry*>(qemu_plugin_scoreboard_find(g_score, k));
  return v.score;
}

// ---- registers -------------------------------------------------------------
uint64_t read_reg(qemu_plugin_register* r) {
  if (!r) return 0;
  thread_local GByteArray* buf = g_byte_array_new();
  g_byte_array_set_size(buf, 0);
  int n = qemu_plugin_read_register(r, buf);
  uint64_t v = 0;
  for (int i = 0; i < n && i < 8; ++i) v |= uint64_t(buf->data[i]) << (8 * i);
  return v;
}

void find_registers() {
  ContextRegs want = g_arch->regs();
  GArray* regs = qemu_plugin_get_registers();
  if (!regs) return;
  for (guint i = 0; i < regs->len; ++i) {
    auto* d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
    if (want.priv && !strcmp(d->name, want.priv)) g_reg_priv = d->handle;
    if (want.asid && !strcmp(d->name, want.asid)) g_reg_asid = d->handle;
    if (want.mode && !strcmp(d->name, want.mode)) g_reg_mode = d->handle;
  }
  g_array_free(regs, TRUE);
  if (!g_reg_priv || !g_reg_asid)
    say("warning: guest registers for privilege level / address space not found; "
        "recording CPL and ASID as 0");
}

void on_vcpu_init(qemu_plugin_id_t, unsigned int) { std::call_once(g_regs_once, find_registers); }

uint64_t read_asid() { return g_arch->asid(read_reg(g_reg_asid)); }

// ---- mode switching --------------------------------------------------------
void register_callbacks();
// Completed translation flushes: after one that follows a stop, no block
// translated while tracing can run (and close a record) any more.
std::atomic<uint64_t> g_resets_done{0};
void on_reset_done(qemu_plugin_id_t) {
  register_callbacks();
  g_resets_done.fetch_add(1, std::memory_order_release);
}

// From a vCPU thread (callbacks): flush all translations and re-register.
void request_reset_vcpu() {
  g_stat_resets.fetch_add(1, std::memory_order_relaxed);
  qemu_plugin_reset(g_id, on_reset_done);
}

void reset_work(void*, RunOnCpuData) { request_reset_vcpu(); }

// From any other thread (control socket).
void request_reset_any() {
  if (p_async_run_on_cpu && p_qemu_get_cpu) {
    void* cpu = p_qemu_get_cpu(0);
    if (cpu) {
      p_async_run_on_cpu(cpu, reset_work, RunOnCpuData{nullptr});
      return;
    }
  }
  // Fallback: the next idle or marker callback on a vCPU does it.
  g_reset_from_idle.store(true);
}

// ---- budget pools ----------------------------------------------------------
// Cost per block while the budget is large: one uncontended compare-exchange
// on the core's own lease word (its cache line is not shared). The global
// counter is touched once per lease (at most 1/8 of what is left per core,
// at most 65536), and other cores' leases only when the global counter is
// empty.
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
bool pool_exhausted(Pool& p) {
  if (p.global.load() != 0) return false;
  uint64_t m = p.moved.load();
  if (p.transit.load() != 0) return false;
  if (p.global.load() != 0) return false;
  uint32_t e = p.epoch.load();
  for (unsigned j = 0; j < p.ncores; ++j)
    if (lease_amount(p.lease[j].word.load(), e)) return false;
  if (p.transit.load() != 0) return false;
  return p.moved.load() == m;
}

// Takes up to n instructions out of the pool for core k's next record.
uint32_t pool_take(Pool& p, Vcpu& v, unsigned k, int w, uint32_t n) {
  uint32_t e = p.epoch.load(std::memory_order_acquire);
  v.commit_epoch[w] = e;
  uint32_t got = lease_take(p, k, e, n);
  while (got < n) {
    int64_t g = p.global.load();
    if (g <= 0) {
      if (!pool_reclaim(p, k, e)) break;
      continue;
    }
    uint32_t need = n - got;
    int64_t batch = std::min<int64_t>(g / (8 * int64_t(g_ncores)), 1 << 16);
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
inline void pool_untake(Pool& p, Vcpu& v, unsigned k, int w, uint32_t n) {
  if (n) lease_add(p, k, v.commit_epoch[w], n);
}

inline void recseq_bump(unsigned k) {
  auto& q = g_recseq[k].seq;
  q.store(q.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// No other core has an open record holding budget. Such a record may end
// early (an exception, an MMIO access that is not the block's last
// instruction) and give budget back, which that core then uses for the
// instructions that follow; declaring the limit before would lose them.
bool others_settled(unsigned k) {
  for (unsigned j = 0; j < g_ncores; ++j)
    if (j != k && (g_recseq[j].seq.load(std::memory_order_acquire) & 1)) return false;
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
  if (v.wait_seq.size() != g_ncores) v.wait_seq.assign(g_ncores, 0);
  bool open = false, moved = false;
  for (unsigned j = 0; j < g_ncores; ++j) {
    if (j == k) continue;
    uint32_t q = g_recseq[j].seq.load(std::memory_order_acquire);
    if (q & 1) open = true;
    if (q != v.wait_seq[j]) {
      v.wait_seq[j] = q;
      moved = true;
    }
  }
  if (!open) return true;
  if (moved || v.wait_blocks == 0) {
    v.wait_blocks = 1;
    v.wait_since_ns = now_ns();
    return false;
  }
  if ((++v.wait_blocks & 255) != 0) return false;
  return now_ns() - v.wait_since_ns >= kStallNs;
}

// The open record ended having retired `retired` of its cap (<= cap): the
// rest goes back to the core's lease. drained[w]: pool w has nothing left to
// hand out and no other core holds budget in an open record.
void pool_settle(Vcpu& v, unsigned k, uint32_t retired, bool drained[2]) {
  drained[0] = drained[1] = false;
  if (!g_pools_on) return;
  recseq_bump(k);
  bool settled = false, checked = false;
  for (int w = 0; w < 2; ++w) {
    drained[w] = false;
    Pool& p = g_pool[w];
    if (!p.active) continue;
    if (retired < v.cap) pool_untake(p, v, k, w, v.cap - retired);
    if (!pool_exhausted(p)) continue;
    if (!checked) {
      settled = others_settled(k);
      checked = true;
    }
    drained[w] = settled;
  }
}

// Core k stops recording or goes idle: its unused leases go back.
void pool_release(unsigned k) {
  for (int w = 0; w < 2; ++w) {
    Pool& p = g_pool[w];
    if (!p.active) continue;
    uint32_t e = p.epoch.load();
    if (lease_amount(p.lease[k].word.load(std::memory_order_relaxed), e)) lease_return(p, k, e);
  }
}

// ---- recording -------------------------------------------------------------
void check_failure(unsigned k);

void update_context(Vcpu& v, uint8_t cpl) {
  if (v.asid_dirty || !v.ctx_valid) {
    uint64_t a = read_asid();
    v.asid_dirty = false;
    v.xlat_gen++;  // after the instruction that set asid_dirty took effect
    if (!v.ctx_valid || a != v.asid || cpl != v.cpl) {
      v.asid = a;
      v.cpl = cpl;
      v.ctx_valid = true;
      v.sink->set_context(cpl, a);
    }
  } else if (cpl != v.cpl) {
    v.cpl = cpl;
    v.sink->set_context(cpl, v.asid);
  }
}

uint64_t rec_pc(const StaticBlock* sb, uint32_t i) {
  uint64_t pc = sb->vaddr;
  for (uint32_t j = 0; j < i && j < sb->lengths.size(); ++j) pc += sb->lengths[j];
  return pc;
}

void declare_limit(unsigned k);
void declare_window_end(unsigned k);

// The next block (at pc) after the record whose allowed successors are in
// v.succ: at its close, or at the next block when it closed with
// kSuccessorLater.
void check_successor(Vcpu& v, uint64_t pc) {
  if (!v.succ.pending) return;
  v.succ.pending = false;
  if (v.succ.any || pc == v.succ.a || pc == v.succ.b || pc == v.succ.rep_pc) return;
  v.disc_pending = true;
  v.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Interrupt, 0, v.last_pc};
}

// Ends the open record. next_pc == 0: unknown (no discontinuity check);
// kSuccessorLater: checked against the next block executed (check_successor).
// may_declare: the budget it drains may be declared spent here (limit or
// window end); otherwise the next starved block on any core declares it.
constexpr uint64_t kSuccessorLater = ~uint64_t(0);
void close_record(Vcpu& v, unsigned k, uint64_t next_pc, bool may_declare = true) {
  TbInfo* ex = v.exec;
  const StaticBlock* sb = v.rec;
  uint32_t rec_n = sb->insn_count;
  int64_t kidx = int64_t(score(k)->idx);
  int64_t ri = kidx + v.base;
  uint32_t retired;
  bool faulted = false;
  bool io_rerun = false;
  if (kidx >= int64_t(ex->n) - 1 || ri >= int64_t(rec_n) - 1) {
    if (ex->last_must_access && v.last_acc != int32_t(rec_n - 1)) {
      retired = rec_n - 1;
      faulted = true;
    } else {
      retired = rec_n;
    }
  } else if (ri < 0) {
    retired = 0;
  } else if (v.io_done == int32_t(ri)) {
    // QEMU stopped the block at an MMIO access that was not its last
    // instruction and re-ran that instruction alone in a memory-only
    // instrumented block (cpu_io_recompile): it retired.
    retired = static_cast<uint32_t>(ri) + 1;
    io_rerun = true;
  } else {
    retired = static_cast<uint32_t>(ri);
    faulted = true;
  }
  bool cut = false;
  if (retired > v.cap) {
    if (g_count_check) v.cut_excess += retired - v.cap + (faulted ? 1 : 0);
    retired = v.cap;
    cut = true;
    faulted = false;
  }
  v.sink->end_block(retired);
  v.rec = nullptr;
  if (faulted) v.faults++;
  uint64_t last = retired == rec_n ? ex->last_pc : (retired ? rec_pc(sb, retired - 1) : v.last_pc);
  v.last_pc = last;
  if (faulted) {
    v.disc_pending = true;
    v.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Exception, 0, last};
  } else if (!cut && next_pc) {
    // The successors this execution allows; anything else is an interrupt.
    if (io_rerun) {
      // Execution went on after the re-run instruction: its fall-through.
      uint32_t j = uint32_t(kidx);
      uint64_t ft = j + 1 < ex->n ? ex->pcs[j + 1] : ex->fallthrough;
      v.succ = {true, false, ft, ft, ft};
    } else {
      v.succ = {true, ex->any_next, ex->next_a, ex->next_b, ex->last_rep ? ex->last_pc : ex->next_a};
    }
    if (next_pc != kSuccessorLater) check_successor(v, next_pc);
  }
  bool drained[2];
  pool_settle(v, k, retired, drained);
  if (!may_declare) return;
  if (drained[0] && phase() == Phase::Tracing) declare_limit(k);
  else if (drained[1] && phase() == Phase::Tracing) declare_window_end(k);
}

// Starts recording on this core (ROI_BEGIN).
void core_begin(Vcpu& v, unsigned k) {
  if (v.tracing) return;
  v.tracing = true;
  v.succ.pending = false;
  v.epoch = g_epoch.load(std::memory_order_acquire);
  v.ctx_valid = false;
  v.asid_dirty = true;
  v.disc_pending = false;
  v.starved = false;
  v.sink->marker(Marker{MarkerKind::RoiBegin, g_roi_source, g_roi_id, 0});
  if (v.skip_done_pending) {
    v.sink->marker(Marker{MarkerKind::SkipDone, MarkerSource::None, 0, g_opt.skip});
    v.skip_done_pending = false;
  }
  if (g_count_check) v.check_start = score(k)->count;
}

// Stops recording on this core: the open record must already be closed.
void core_end(Vcpu& v, unsigned k, MarkerKind kind, MarkerSource src, uint16_t id, uint64_t value) {
  if (!v.tracing) return;
  v.disc_pending = false;
  v.succ.pending = false;
  v.sink->marker(Marker{kind, src, id, value});
  v.tracing = false;
  pool_release(k);
  if (g_count_check) v.check_inline += score(k)->count - v.check_start;
}

void end_kind_for_phase(MarkerKind* kind, MarkerSource* src, uint16_t* id, uint64_t* value) {
  if (phase() == Phase::Limit) {
    *kind = MarkerKind::LimitReached;
    *src = MarkerSource::Limit;
    *id = 0;
    *value = uint64_t(g_opt.limit);
  } else {
    *kind = MarkerKind::RoiEnd;
    *src = g_stop_source;
    *id = g_stop_id;
    *value = 0;
  }
}

void core_stop_now(Vcpu& v, unsigned k) {
  MarkerKind kind;
  MarkerSource src;
  uint16_t id;
  uint64_t value;
  end_kind_for_phase(&kind, &src, &id, &value);
  core_end(v, k, kind, src, id, value);
}

// Takes the budget of a record of *cap instructions out of the pools
// (limit=, window=); lowers *cap to what was granted. False if none is left.
bool take_budget(Vcpu& v, unsigned k, uint32_t* cap_io) {
  uint32_t cap = *cap_io;
  uint32_t took[2] = {0, 0};
  for (int w = 0; w < 2; ++w) {
    if (!g_pool[w].active) continue;
    took[w] = pool_take(g_pool[w], v, k, w, cap);
    cap = std::min(cap, took[w]);
  }
  for (int w = 0; w < 2; ++w)
    if (g_pool[w].active && took[w] > cap) pool_untake(g_pool[w], v, k, w, took[w] - cap);
  *cap_io = cap;
  if (cap == 0) {
    v.starved = true;
    if (g_pool[0].active && pool_exhausted(g_pool[0])) {
      if (may_end_budget(v, k)) declare_limit(k);
    } else if (g_pool[1].active && pool_exhausted(g_pool[1])) {
      if (may_end_budget(v, k)) declare_window_end(k);
    }
    return false;
  }
  recseq_bump(k);  // this record holds budget until pool_settle
  v.wait_blocks = 0;
  if (v.starved) {
    // Budget came back (another core returned it): the stream has a gap.
    v.starved = false;
    v.disc_pending = true;
    v.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Limit, 0, v.last_pc};
  }
  return true;
}

// Opens a record for `sb`; false if no budget is left for this core.
bool open_record(Vcpu& v, unsigned k, TbInfo* ex, const StaticBlock* sb, int32_t base) {
  uint32_t cap = sb->insn_count;
  if (g_pools_on && !take_budget(v, k, &cap)) return false;
  update_context(v, ex->cpl);
  if (v.disc_pending) {
    v.sink->marker(v.disc);
    v.disc_pending = false;
  }
  v.sink->begin_block(sb);
  v.rec = sb;
  v.rec_n = sb->insn_count;
  v.exec = ex;
  v.base = base;
  v.cap = cap;
  v.acc_count = 0;
  v.last_acc = -1;
  v.io_done = -1;
  if ((++v.blocks & 1023) == 0) check_failure(k);
  return true;
}

void fail_trace(unsigned k, const std::string& why, int err);

// The sink of a core that was not there at start (hotplug).
bool attach_sink(unsigned k) {
  if (!g_run || k >= g_v.size()) return false;
  Phase ph = phase();
  if (ph == Phase::Failed) return false;
  g_v[k].sink = g_run->core(k);
  if (!g_v[k].sink) {
    fail_trace(k, g_run->error(), EIO);
    return false;
  }
  return true;
}

void check_failure(unsigned k) {
  Vcpu& v = g_v[k];
  if (v.sink && v.sink->failed()) fail_trace(k, v.sink->error(), EIO);
}

void fail_trace(unsigned k, const std::string& why, int err) {
  set_phase(Phase::Failed);
  if (!g_failed_reported.exchange(true)) {
    fprintf(stderr, "qemutrace: cannot write the trace (%s); tracing stopped, the guest keeps running\n",
            why.c_str());
    event("error", MarkerSource::None, -1, int(k), why);
    if (k < g_v.size() && g_v[k].sink)
      g_v[k].sink->marker(Marker{MarkerKind::TraceError, MarkerSource::None, 0, uint64_t(err)});
    request_reset_vcpu();
  }
}

// ---- phase transitions (from vCPU threads) ---------------------------------
void begin_tracing_phase(MarkerSource src, uint16_t id, int core) {
  g_roi_source = src;
  g_roi_id = id;
  if (g_opt.window) g_pool[1].reset(int64_t(g_opt.window));
  g_epoch.fetch_add(1, std::memory_order_acq_rel);
  set_phase(Phase::Tracing);
  event("roi_begin", src, id, core);
}

// A start condition (marker, console, start=now).
void start_condition(MarkerSource src, uint16_t id, int core) {
  g_first_window.store(true);
  if (g_opt.skip) {
    g_roi_source = src;
    g_roi_id = id;
    g_skip_target = g_opt.skip;
    g_skipped.store(0);
    for (auto& v : g_v) v.skip_local = 0;
    set_phase(Phase::Skipping);
    event("skip_begin", src, id, core, std::to_string(g_opt.skip));
  } else {
    begin_tracing_phase(src, id, core);
  }
}

void stop_condition(MarkerSource src, uint16_t id, int core) {
  g_stop_source = src;
  g_stop_id = id;
  set_phase(Phase::Off);
  event("roi_end", src, id, core);
}

void declare_limit(unsigned k) {
  int expected = static_cast<int>(Phase::Tracing);
  if (!g_phase.compare_exchange_strong(expected, static_cast<int>(Phase::Limit))) return;
  Vcpu& v = g_v[k];
  if (v.rec) close_record(v, k, 0);
  core_stop_now(v, k);
  event("limit_reached", MarkerSource::Limit, -1, int(k), std::to_string(g_opt.limit));
  say("instruction limit " + std::to_string(g_opt.limit) + " reached");
  request_reset_vcpu();
  if (g_opt.exit_on_limit) {
    if (p_shutdown_request) {
      p_shutdown_request(2 /* SHUTDOWN_CAUSE_HOST_QMP_QUIT */);
    } else {
      exit(0);  // atexit callback finishes the files
    }
  }
}

void declare_window_end(unsigned k) {
  int expected = static_cast<int>(Phase::Tracing);
  if (!g_phase.compare_exchange_strong(expected, static_cast<int>(Phase::Skipping))) return;
  g_stop_source = MarkerSource::Window;
  g_stop_id = 0;
  g_skip_target = g_opt.every - g_opt.window;
  g_skipped.store(0);
  for (auto& v : g_v) v.skip_local = 0;
  g_first_window.store(false);
  event("roi_end", MarkerSource::Window, -1, int(k));
  Vcpu& v = g_v[k];
  if (v.rec) close_record(v, k, 0);
  core_stop_now(v, k);
  if (g_skip_target == 0) {
    begin_tracing_phase(MarkerSource::Window, 0, int(k));
  }
  request_reset_vcpu();
}

// ---- execution callbacks ---------------------------------------------------
// The common case of on_tb_exec: the open record ran whole into its
// expected successor, which opens the next record in the same context.
inline bool chain_record(Vcpu& v, unsigned k, TbInfo* tb) {
  TbInfo* ex = v.exec;
  if (!ex->plain_end || v.base != 0 || v.cap != ex->n || v.score->idx + 1 != ex->n) return false;
  if (ex->last_must_access && v.last_acc != int32_t(ex->n) - 1) return false;  // it faulted
  if (!(ex->any_next || tb->vaddr == ex->next_a || tb->vaddr == ex->next_b)) return false;
  if (tb->cpl != v.cpl || v.asid_dirty || !v.ctx_valid || v.disc_pending || g_pools_on) return false;
  if (phase() != Phase::Tracing || v.epoch != g_epoch.load(std::memory_order_relaxed)) return false;
  v.last_pc = ex->last_pc;
  v.sink->chain_block(ex->n, tb->sb);
  v.rec = tb->sb;
  v.rec_n = tb->n;
  v.exec = tb;
  v.cap = tb->n;
  v.acc_count = 0;
  v.last_acc = -1;
  v.io_done = -1;
  if ((++v.blocks & 1023) == 0) check_failure(k);
  return true;
}

void on_tb_exec(unsigned k, void* ud) {
  TbInfo* tb = static_cast<TbInfo*>(ud);
  Vcpu& v = g_v[k];
  if (v.rec && v.score && chain_record(v, k, tb)) return;
  if (!v.sink && !attach_sink(k)) return;
  if (v.rec) {
    TbInfo* ex = v.exec;
    if (ex->last_rep && tb->vaddr == ex->last_pc && tb->n == 1 && tb->last_rep &&
        phase() == Phase::Tracing &&
        int64_t(score(k)->idx) == int64_t(ex->n) - 1 &&
        int32_t(score(k)->idx) + v.base == int32_t(v.rec->insn_count) - 1) {
      // The REP instruction goes on in a new TB (QEMU re-enters it after
      // REP_MAX iterations): same retired instruction.
      v.base = int32_t(v.rec->insn_count) - 1;
      v.exec = tb;
      v.rep_merges++;
      return;
    }
    close_record(v, k, tb->vaddr);
  } else {
    check_successor(v, tb->vaddr);
  }
  Phase ph = phase();
  if (ph != Phase::Tracing) {
    if (v.tracing) core_stop_now(v, k);
    return;
  }
  if (v.tracing && v.epoch != g_epoch.load(std::memory_order_relaxed))
    core_end(v, k, MarkerKind::RoiEnd, g_stop_source, g_stop_id, 0);
  if (!v.tracing) core_begin(v, k);
  open_record(v, k, tb, tb->sb, 0);
}

void on_tb_skip(unsigned k, void* ud) {
  TbInfo* tb = static_cast<TbInfo*>(ud);
  Vcpu& v = g_v[k];
  if (!v.sink && !attach_sink(k)) return;
  if (v.rec) close_record(v, k, 0);
  if (v.tracing) core_stop_now(v, k);
  if (phase() != Phase::Skipping) return;
  v.skip_local += tb->n;
  uint64_t remaining_guess = g_skip_target > g_skipped.load(std::memory_order_relaxed)
                                 ? g_skip_target - g_skipped.load(std::memory_order_relaxed)
                                 : 0;
  uint64_t batch = std::min<uint64_t>(4096, remaining_guess / (2 * g_ncores) + 1);
  if (v.skip_local >= batch) {
    uint64_t total = g_skipped.fetch_add(v.skip_local) + v.skip_local;
    v.skip_local = 0;
    if (total >= g_skip_target) {
      int expected = static_cast<int>(Phase::Skipping);
      if (g_phase.compare_exchange_strong(expected, static_cast<int>(Phase::Off))) {
        bool first = g_first_window.load();
        if (first && g_opt.skip)
          for (auto& w : g_v) w.skip_done_pending = true;
        begin_tracing_phase(first ? g_roi_source : MarkerSource::Window, first ? g_roi_id : 0, int(k));
        request_reset_vcpu();
      }
    }
  }
}

inline void record_access(Vcpu& v, unsigned k, qemu_plugin_meminfo_t info, uint64_t vaddr,
                          int32_t ri);

void split_rep(Vcpu& v, unsigned k, int32_t ri) {
  // Too many accesses for one record: the REP instruction retires here and a
  // new instance of it (a one-instruction block) continues.
  TbInfo* ex = v.exec;
  if (!ex->rep_sb || ri != int32_t(v.rec->insn_count) - 1) return;
  uint32_t retired = std::min<uint32_t>(v.rec->insn_count, v.cap);
  v.sink->end_block(retired);
  v.rec = nullptr;
  v.last_pc = ex->last_pc;
  bool drained_w[2];
  pool_settle(v, k, retired, drained_w);
  bool drained = drained_w[0] || drained_w[1];
  v.rep_splits++;
  if (drained || phase() != Phase::Tracing) return;  // next block start handles it
  open_record(v, k, ex, ex->rep_sb, -int32_t(ex->n - 1));
}

// An access from a block without an execution callback: QEMU's memory-only
// re-run of one I/O instruction of the current block. Find it by PC.
int32_t remap_io(Vcpu& v, const InsnRef* r) {
  uint64_t pc = r->tb->pcs[r->idx];
  TbInfo* ex = v.exec;
  for (uint32_t i = 0; i < ex->n; ++i) {
    if (ex->pcs[i] == pc) {
      int32_t ri = int32_t(i) + v.base;
      v.io_done = ri;
      return ri;
    }
  }
  return -1;
}

void on_mem(unsigned k, qemu_plugin_meminfo_t info, uint64_t vaddr, void* ud) {
  Vcpu& v = g_v[k];
  if (!v.rec) return;
  // The instruction follows from the userdata's address in the current
  // block's InsnRef array, without reading the (often cold) InsnRef itself.
  const InsnRef* r = static_cast<const InsnRef*>(ud);
  uintptr_t off = uintptr_t(r) - uintptr_t(v.exec->ref0);
  int32_t idx = int32_t(off / sizeof(InsnRef));
  int32_t ri = off < uintptr_t(v.exec->n) * sizeof(InsnRef) ? idx + v.base : remap_io(v, r);
  if (ri < 0 || ri >= int32_t(v.rec_n)) return;
  if (v.acc_count >= kMaxAccPerRecord) {
    split_rep(v, k, ri);
    if (!v.rec || v.acc_count >= kMaxAccPerRecord) return;
    ri = idx + v.base;
  }
  record_access(v, k, info, vaddr, ri);
}

inline uint64_t physical_address(Vcpu& v, qemu_plugin_meminfo_t info, uint64_t vaddr) {
  constexpr unsigned kPageBits = 12;  // QEMU's TLB granule on x86
  uint64_t vpage = vaddr >> kPageBits;
  uint32_t mmu_idx = info & 15;  // MemOpIdx: mmu index in the low 4 bits
  if (!v.exec->paging) v.xlat_gen++;  // no paging (e.g. after a reset): forget all
  XlatEntry& e = v.xlat[(vpage ^ (vpage >> 6) ^ mmu_idx) % kXlatEntries];
  if (e.gen == v.xlat_gen && e.vpage == vpage && e.mmu_idx == mmu_idx)
    return e.pframe | (vaddr & ((1u << kPageBits) - 1));
  qemu_plugin_hwaddr* hw = qemu_plugin_get_hwaddr(info, vaddr);
  if (!hw) return 0;
  uint64_t paddr = qemu_plugin_hwaddr_phys_addr(hw);
  e = XlatEntry{vpage, paddr & ~uint64_t((1u << kPageBits) - 1), v.xlat_gen, mmu_idx};
  return paddr;
}

inline void record_access(Vcpu& v, unsigned, qemu_plugin_meminfo_t info, uint64_t vaddr,
                          int32_t ri) {
  // meminfo: MemOpIdx (MemOp << 4 | mmu_idx) in the low 16 bits, rw above.
  unsigned size_log2 = (info >> 4) & 7;
  unsigned rw = (info >> 16) & 3;
  if (size_log2 > 4) size_log2 = 4;
  uint64_t paddr = 0;
  if (g_phys) paddr = physical_address(v, info, vaddr);
  uint64_t lo = 0, hi = 0;
  if (g_values) {
    qemu_plugin_mem_value mv = qemu_plugin_mem_get_value(info);
    switch (mv.type) {
      case QEMU_PLUGIN_MEM_VALUE_U8: lo = mv.data.u8; break;
      case QEMU_PLUGIN_MEM_VALUE_U16: lo = mv.data.u16; break;
      case QEMU_PLUGIN_MEM_VALUE_U32: lo = mv.data.u32; break;
      case QEMU_PLUGIN_MEM_VALUE_U64: lo = mv.data.u64; break;
      case QEMU_PLUGIN_MEM_VALUE_U128: lo = mv.data.u128.low; hi = mv.data.u128.high; break;
    }
  }
  if (rw == 3) {  // atomic read-modify-write: a load and a store
    v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, false, lo, hi);
    v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, true, lo, hi);
    v.acc_count += 2;
  } else {
    if (g_values) v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, rw == 2, lo, hi);
    else v.sink->append_access(uint32_t(ri), vaddr, paddr, size_log2, rw == 2);
    v.acc_count++;
  }
  v.last_acc = ri;
}

// Before an instruction that may change translations (CR3 writes among
// them); the next block start re-reads the address space and moves the
// generation again, for what the instruction itself changed.
void on_translation_change(unsigned k, void*) {
  Vcpu& v = g_v[k];
  v.asid_dirty = true;
  v.xlat_gen++;
}

// Starts tracing at a site (START marker: after it; int watch: at it).
void start_at_site(Vcpu& v, unsigned k, Site* s, MarkerSource src) {
  Phase ph = phase();
  if (ph != Phase::Off) return;  // already on / skipping / limit / failed
  start_condition(src, s->id, int(k));
  if (phase() == Phase::Tracing) {
    if (v.rec) close_record(v, k, 0);
    if (v.tracing) core_stop_now(v, k);
    core_begin(v, k);
    v.disc_pending = false;
    if (s->sub) open_record(v, k, s->tb, s->sub, s->sub_base);
  }
  request_reset_vcpu();
}

void on_marker(unsigned k, void* ud) {
  Site* s = static_cast<Site*>(ud);
  Vcpu& v = g_v[k];
  if (!v.sink && !attach_sink(k)) return;
  if (g_reset_from_idle.exchange(false)) request_reset_vcpu();
  if (s->watch) {
    bool hit = false;
    {
      std::lock_guard<std::mutex> lk(g_watch_mu);
      auto it = g_int_pending.find(s->pc);
      if (it != g_int_pending.end() && it->second == read_asid()) {
        g_int_pending.erase(it);
        hit = true;
      }
    }
    if (hit) start_at_site(v, k, s, MarkerSource::LegacyInt);
    if (s->type == MarkerType::None) return;
  }
  switch (s->type) {
    case MarkerType::NopStart:
      start_at_site(v, k, s, MarkerSource::MagicNop);
      break;
    case MarkerType::IntStart:
      if (phase() == Phase::Off) {
        bool fresh;
        {
          std::lock_guard<std::mutex> lk(g_watch_mu);
          g_int_pending[s->pc + 2] = read_asid();
          fresh = g_watch.insert(s->pc + 2).second;
        }
        // Retranslate so that the return point gets its watch callback.
        if (fresh) request_reset_vcpu();
      }
      break;
    case MarkerType::NopStop:
    case MarkerType::IntStop: {
      Phase ph = phase();
      if (ph != Phase::Tracing && ph != Phase::Skipping) break;
      MarkerSource src = s->type == MarkerType::NopStop ? MarkerSource::MagicNop : MarkerSource::LegacyInt;
      stop_condition(src, s->id, int(k));
      if (v.rec && v.exec == s->tb) {
        // End the record just before the marker.
        int32_t ri = int32_t(s->idx) + v.base;
        uint32_t retired = ri < 0 ? 0 : std::min<uint32_t>(uint32_t(ri), v.cap);
        v.sink->end_block(retired);
        const StaticBlock* sb = v.rec;
        v.rec = nullptr;
        if (retired) v.last_pc = rec_pc(sb, retired - 1);
        bool drained[2];
        pool_settle(v, k, retired, drained);
      } else if (v.rec) {
        close_record(v, k, 0);
      }
      core_end(v, k, MarkerKind::RoiEnd, src, s->id, 0);
      request_reset_vcpu();
      break;
    }
    default:
      break;
  }
}

void on_idle(qemu_plugin_id_t, unsigned int k) {
  if (g_reset_from_idle.exchange(false)) request_reset_vcpu();
  if (k >= g_v.size()) return;
  // A halted vCPU ends its record (the block ran up to the halt), so that
  // it does not hold budget that other cores wait for; the successor is
  // checked when it runs again. Then its unused lease goes back.
  // Not declaring a limit or window end here: that flushes translations,
  // and QEMU would queue the flush on this vCPU, which sleeps right after
  // this callback without seeing it. Under g_tb_mu: a flush (on_flush) may
  // run on another thread meanwhile, since this vCPU is not running.
  Vcpu& v = g_v[k];
  if (v.rec) {
    std::lock_guard<std::mutex> lk(g_tb_mu);
    close_record(v, k, kSuccessorLater, /*may_declare=*/false);
  }
  pool_release(k);
}

// ---- translation -----------------------------------------------------------
TransMode trans_mode() {
  switch (phase()) {
    case Phase::Tracing: return TransMode::On;
    case Phase::Skipping: return TransMode::Skip;
    case Phase::Off: return TransMode::Off;
    default: return TransMode::Dead;
  }
}

bool marker_enabled(MarkerType t) {
  switch (t) {
    case MarkerType::NopStart:
    case MarkerType::NopStop: return g_nop_markers;
    case MarkerType::IntStart:
    case MarkerType::IntStop: return g_int_markers;
    default: return false;
  }
}

// store_idx: record progress before this instruction (see on_tb_trans).
void instrument_insn(qemu_plugin_insn* insn, TbInfo* ti, uint32_t i, const InsnClass& c,
                     bool is_marker, bool store_idx) {
  if (store_idx) {
    qemu_plugin_u64 idx_entry = {g_score, offsetof(ScoreEntry, idx)};
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_STORE_U64, idx_entry, i);
  }
  if (g_count_check && !is_marker) {
    qemu_plugin_u64 cnt = {g_score, offsetof(ScoreEntry, count)};
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, cnt, 1);
  }
  qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                   &ti->refs[i]);
  if (c.changes_translation)  // CR3 writes included
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_translation_change, QEMU_PLUGIN_CB_NO_REGS, nullptr);
}

void on_tb_trans(qemu_plugin_id_t, qemu_plugin_tb* tb) {
  TransMode mode = trans_mode();
  if (mode == TransMode::Dead) return;
  g_stat_trans.fetch_add(1, std::memory_order_relaxed);
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> lens(n);
  std::vector<MarkerMatch> marks(n);
  std::vector<InsnClass> cls;
  bytes.reserve(n * 4);
  uint8_t buf[16];
  auto* ti = new TbInfo;
  ti->vaddr = qemu_plugin_tb_vaddr(tb);
  ti->n = uint32_t(n);
  ti->pcs.resize(n);
  ti->refs.resize(n);
  for (size_t i = 0; i < n; ++i) ti->refs[i] = InsnRef{ti, uint32_t(i)};
  ti->ref0 = ti->refs.data();
  bool any_marker = false, any_watch = false;
  std::vector<bool> watched(n, false);
  {
    std::unique_lock<std::mutex> lk(g_watch_mu, std::defer_lock);
    bool have_watch = g_int_markers;
    if (have_watch) {
      lk.lock();
      have_watch = !g_watch.empty();
      if (!have_watch) lk.unlock();
    }
    for (size_t i = 0; i < n; ++i) {
      qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
      size_t len = qemu_plugin_insn_data(insn, buf, sizeof(buf));
      if (len == 0 || len > 15) len = std::max<size_t>(1, std::min<size_t>(len, 15));
      lens[i] = uint8_t(len);
      ti->pcs[i] = qemu_plugin_insn_vaddr(insn);
      bytes.insert(bytes.end(), buf, buf + len);
      marks[i] = g_arch->match_marker(buf, len);
      if (!marker_enabled(marks[i].type)) marks[i].type = MarkerType::None;
      if (marks[i].type != MarkerType::None) any_marker = true;
      if (have_watch && g_watch.count(ti->pcs[i])) {
        watched[i] = true;
        any_watch = true;
      }
    }
  }
  if (mode == TransMode::Off && !any_marker && !any_watch) {
    delete ti;  // nothing to instrument: zero cost while off
    return;
  }
  // Classification is needed for the last instruction (successor, fault
  // rule) and for CR3 writes in instrumented code.
  bool need_all = mode == TransMode::On || any_marker || any_watch;
  cls.resize(n);
  size_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    if (need_all || i == n - 1) cls[i] = g_arch->classify(ti->pcs[i], bytes.data() + off, lens[i]);
    off += lens[i];
  }
  const InsnClass& lc = cls[n - 1];
  ti->last_pc = ti->pcs[n - 1];
  ti->fallthrough = ti->last_pc + lens[n - 1];
  ti->last_rep = lc.is_rep_string;
  ti->last_must_access = lc.must_access_memory;
  switch (lc.flow) {
    case Flow::Next: ti->next_a = ti->next_b = ti->fallthrough; break;
    case Flow::Direct: ti->next_a = ti->next_b = lc.target; break;
    case Flow::CondDirect: ti->next_a = lc.target; ti->next_b = ti->fallthrough; break;
    default: ti->any_next = true; break;
  }
  ti->plain_end = !lc.is_rep_string;
  if (g_reg_priv) {
    uint64_t mode = read_reg(g_reg_mode);
    ti->cpl = g_arch->privilege(read_reg(g_reg_priv), mode);
    ti->paging = g_arch->paging(mode);
  }

  auto offset_of = [&](size_t i) {
    size_t o = 0;
    for (size_t j = 0; j < i; ++j) o += lens[j];
    return o;
  };
  auto intern_from = [&](size_t s) -> const StaticBlock* {
    if (s >= n || !g_run) return nullptr;
    return g_run->intern_block(ti->pcs[s], 0, bytes.data() + offset_of(s), lens.data() + s,
                               uint32_t(n - s));
  };

  // Marker sites (stable storage: reserve first).
  size_t nsites = 0;
  for (size_t i = 0; i < n; ++i) nsites += (marks[i].type != MarkerType::None) + watched[i];
  ti->sites.reserve(nsites);
  size_t first_gated = n;  // off/skip mode: instrument from here on
  for (size_t i = 0; i < n; ++i) {
    if (watched[i]) {
      Site s;
      s.tb = ti;
      s.idx = uint32_t(i);
      s.watch = true;
      s.pc = ti->pcs[i];
      s.sub = intern_from(i);
      s.sub_base = -int32_t(i);
      ti->sites.push_back(s);
      first_gated = std::min(first_gated, i);
    }
    if (marks[i].type != MarkerType::None) {
      Site s;
      s.tb = ti;
      s.idx = uint32_t(i);
      s.type = marks[i].type;
      s.id = marks[i].id;
      s.pc = ti->pcs[i];
      if (s.type == MarkerType::NopStart) {
        s.sub = intern_from(i + 1);
        s.sub_base = -int32_t(i + 1);
        first_gated = std::min(first_gated, i + 1);
      }
      ti->sites.push_back(s);
    }
  }

  if (mode == TransMode::On) {
    ti->sb = g_run ? g_run->intern_block(ti->vaddr, 0, bytes.data(), lens.data(), uint32_t(n)) : nullptr;
    if (!ti->sb) {
      delete ti;
      return;
    }
    if (ti->last_rep) ti->rep_sb = intern_from(n - 1);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, ti);
    first_gated = 0;
  } else if (mode == TransMode::Skip) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_skip, QEMU_PLUGIN_CB_NO_REGS, ti);
  }
  if (ti->last_rep && !ti->rep_sb && first_gated < n) ti->rep_sb = intern_from(n - 1);

  size_t si = 0;
  for (size_t i = 0; i < n; ++i) {
    qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    // Site callbacks come first, so that a START marker opens the record
    // before the following instruction's inline store.
    while (si < ti->sites.size() && ti->sites[si].idx == i) {
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, QEMU_PLUGIN_CB_NO_REGS, &ti->sites[si]);
      ++si;
    }
    bool is_marker = marks[i].type != MarkerType::None;
    // The progress index only has to be right where a block can stop early
    // (an exception, an I/O re-run) and at its first and last instruction,
    // which tell a whole execution from a stale index.
    bool store_idx = i == first_gated || i == n - 1 || cls[i].may_stop_block || is_marker;
    if (i >= first_gated && mode != TransMode::Skip)
      instrument_insn(insn, ti, uint32_t(i), cls[i], is_marker, store_idx);
  }
  std::lock_guard<std::mutex> lk(g_tb_mu);
  g_tbs.push_back(ti);
}

// All translations are gone (exclusive context): free their TbInfos, except
// those an open record still points to.
void on_flush(qemu_plugin_id_t) {
  g_stat_flushes.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(g_tb_mu);
  std::unordered_set<TbInfo*> keep;
  for (auto& v : g_v)
    if (v.exec) keep.insert(v.exec);
  std::vector<TbInfo*> kept;
  for (TbInfo* t : g_tbs) {
    if (keep.count(t)) kept.push_back(t);
    else delete t;
  }
  g_tbs.swap(kept);
  for (auto& v : g_v) {
    if (!v.rec) v.exec = nullptr;
    v.score = nullptr;
  }
}

// ---- end of run ------------------------------------------------------------
void finish_run() {
  if (g_finished.exchange(true)) return;
  for (unsigned k = 0; k < g_v.size(); ++k) {
    Vcpu& v = g_v[k];
    if (!v.sink) continue;
    if (v.rec) close_record(v, k, 0);
    if (v.tracing) core_end(v, k, MarkerKind::RoiEnd, MarkerSource::EndOfRun, 0, 0);
  }
  if (g_count_check && g_run) {
    auto totals = g_run->totals();
    uint64_t sum_t = 0, sum_i = 0, sum_f = 0, sum_c = 0, sum_r = 0, sum_s = 0;
    for (unsigned k = 0; k < g_v.size(); ++k) {
      Vcpu& v = g_v[k];
      uint64_t t = k < totals.size() ? totals[k].instructions : 0;
      fprintf(stderr,
              "qemutrace: count_check core %u traced=%" PRIu64 " inline=%" PRIu64 " faulted=%" PRIu64
              " cut=%" PRIu64 " rep_merged=%" PRIu64 " rep_split=%" PRIu64 "\n",
              k, t, v.check_inline, v.faults, v.cut_excess, v.rep_merges, v.rep_splits);
      sum_t += t;
      sum_i += v.check_inline;
      sum_f += v.faults;
      sum_c += v.cut_excess;
      sum_r += v.rep_merges;
      sum_s += v.rep_splits;
    }
    fprintf(stderr,
            "qemutrace: count_check total traced=%" PRIu64 " inline=%" PRIu64 " faulted=%" PRIu64
            " cut=%" PRIu64 " rep_merged=%" PRIu64 " rep_split=%" PRIu64 " %s\n",
            sum_t, sum_i, sum_f, sum_c, sum_r, sum_s,
            sum_i + sum_s == sum_t + sum_f + sum_c + sum_r ? "match" : "MISMATCH");
    fprintf(stderr, "qemutrace: count_check translations=%" PRIu64 " flushes=%" PRIu64 " reset_requests=%" PRIu64 "\n",
            g_stat_trans.load(), g_stat_flushes.load(), g_stat_resets.load());
    event("count_check", MarkerSource::None, -1, -1,
          "traced=" + std::to_string(sum_t) + " inline=" + std::to_string(sum_i) +
              " faulted=" + std::to_string(sum_f) + " cut=" + std::to_string(sum_c) +
              " rep_merged=" + std::to_string(sum_r) + " rep_split=" + std::to_string(sum_s));
  }
  if (g_run) {
    bool ok = g_run->finish();
    if (!ok && !g_failed_reported.exchange(true))
      fprintf(stderr, "qemutrace: cannot finish the trace files: %s\n", g_run->error().c_str());
    if (!g_opt.quiet) {
      uint64_t ins = 0, bytes = 0;
      for (auto& t : g_run->totals()) {
        ins += t.instructions;
        bytes += t.bytes;
      }
      fprintf(stderr, "qemutrace: %" PRIu64 " instructions, %" PRIu64 " bytes in %s_*\n", ins, bytes,
              g_opt.base.c_str());
    }
  }
  g_ctl.stop();
}

void on_atexit(qemu_plugin_id_t, void*) { finish_run(); }

void register_callbacks() {
  qemu_plugin_register_vcpu_init_cb(g_id, on_vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(g_id, on_tb_trans);
  qemu_plugin_register_vcpu_idle_cb(g_id, on_idle);
  qemu_plugin_register_flush_cb(g_id, on_flush);
  qemu_plugin_register_atexit_cb(g_id, on_atexit, nullptr);
}

// ---- control socket --------------------------------------------------------
std::mutex g_ctl_mu;

std::string ctl_status() {
  Phase ph = phase();
  const char* st = ph == Phase::Tracing ? "tracing" : ph == Phase::Limit ? "limit" : "off";
  std::ostringstream o;
  uint64_t ins = 0, bytes = 0;
  std::vector<CoreTotals> totals;
  if (g_run) totals = g_run->totals();
  for (auto& t : totals) {
    ins += t.instructions;
    bytes += t.bytes;
  }
  o << "{\"state\":\"" << st << "\",\"instructions\":" << ins << ",\"bytes\":" << bytes
    << ",\"cores\":[";
  for (size_t k = 0; k < totals.size(); ++k) {
    if (k) o << ",";
    o << "{\"core\":" << k << ",\"instructions\":" << totals[k].instructions
      << ",\"bytes\":" << totals[k].bytes << "}";
  }
  o << "]}";
  return o.str();
}

// Phase changes requested by the socket run on vCPU 0 (through
// async_run_on_cpu), so they never race with the vCPU-side transitions.
void ctl_start_work(void*, RunOnCpuData) {
  if (phase() == Phase::Off) start_condition(MarkerSource::Console, 0, -1);
  request_reset_vcpu();
}
void ctl_stop_work(void*, RunOnCpuData) {
  Phase ph = phase();
  if (ph == Phase::Tracing || ph == Phase::Skipping) stop_condition(MarkerSource::Console, 0, -1);
  request_reset_vcpu();
}

std::string ctl_handle(const std::string& cmd) {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  if (cmd == "status") return ctl_status();
  if (cmd == "start" || cmd == "stop") {
    Phase ph = phase();
    if (ph == Phase::Limit) return "error limit reached";
    if (ph == Phase::Failed) return "error trace failed";
    bool start = cmd == "start";
    if (p_async_run_on_cpu && p_qemu_get_cpu && p_qemu_get_cpu(0)) {
      uint64_t resets = g_resets_done.load(std::memory_order_acquire);
      p_async_run_on_cpu(p_qemu_get_cpu(0), start ? ctl_start_work : ctl_stop_work, RunOnCpuData{nullptr});
      // Wait (briefly) until vCPU 0 has applied it, so that status agrees;
      // after a stop also until the flush is done, so that cores still in
      // blocks translated while tracing have closed their records and the
      // count no longer moves.
      for (int i = 0; i < 200; ++i) {
        Phase now = phase();
        if (start ? now != Phase::Off : (now == Phase::Off)) break;
        usleep(5000);
      }
      for (int i = 0; !start && i < 200 && g_resets_done.load(std::memory_order_acquire) == resets; ++i)
        usleep(5000);
    } else {
      if (start && ph == Phase::Off) start_condition(MarkerSource::Console, 0, -1);
      if (!start && (ph == Phase::Tracing || ph == Phase::Skipping))
        stop_condition(MarkerSource::Console, 0, -1);
      request_reset_any();
    }
    return start ? "ok tracing" : "ok off";
  }
  return "error unknown command";
}

// ---- install ---------------------------------------------------------------
std::vector<std::string> read_cmdline() {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string s;
  while (std::getline(f, s, '\0')) out.push_back(s);
  return out;
}

std::string qemu_version() {
  std::string out;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return out;
  exe[n] = 0;
  std::string cmd = std::string("'") + exe + "' --version 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[256];
  if (fgets(line, sizeof(line), p)) {
    std::string l = line;
    auto pos = l.find("version ");
    if (pos != std::string::npos) {
      out = l.substr(pos + 8);
      auto e = out.find_first_of(" \n(");
      if (e != std::string::npos) out = out.substr(0, e);
    }
  }
  pclose(p);
  return out;
}

int install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  g_id = id;
  std::string err;
  if (!parse_options(argc, argv, &g_opt, &err)) {
    fprintf(stderr, "qemutrace: %s\n", err.c_str());
    return -1;
  }
  if (!info->system_emulation) {
    fprintf(stderr, "qemutrace: only full-system emulation is supported\n");
    return -1;
  }
  g_arch = make_arch(info->target_name ? info->target_name : "", &err).release();
  if (!g_arch) {
    fprintf(stderr, "qemutrace: %s\n", err.c_str());
    return -1;
  }
  g_nop_markers = g_opt.nop_markers;
  g_int_markers = g_opt.int_markers;
  g_phys = g_opt.phys;
  g_values = g_opt.values;
  g_count_check = g_opt.count_check;
  g_ncores = unsigned(std::max(1, info->system.max_vcpus));
  g_v.resize(g_ncores);

  p_async_run_on_cpu = reinterpret_cast<decltype(p_async_run_on_cpu)>(dlsym(RTLD_DEFAULT, "async_run_on_cpu"));
  p_qemu_get_cpu = reinterpret_cast<decltype(p_qemu_get_cpu)>(dlsym(RTLD_DEFAULT, "qemu_get_cpu"));
  p_shutdown_request =
      reinterpret_cast<decltype(p_shutdown_request)>(dlsym(RTLD_DEFAULT, "qemu_system_shutdown_request"));

  if (!g_opt.ctl.empty()) {
    if (!g_ctl.start(g_opt.ctl, ctl_handle, &err)) {
      fprintf(stderr, "qemutrace: %s\n", err.c_str());
      return -1;
    }
  }

  WriterOptions wo;
  wo.format = g_opt.format;
  wo.isa = g_arch->isa();
  wo.features = feature::kKernel | feature::kAsid | feature::kTimestamps;
  if (g_opt.phys) wo.features |= feature::kPhysAddr;
  if (g_opt.values) wo.features |= feature::kValues;
  wo.zstd_level = g_opt.zstd;
  wo.chunk_insns = g_opt.chunk;
  wo.compress_threads = g_opt.threads;
  RunInfo ri;
  ri.command_line = read_cmdline();
  ri.qemu_version = qemu_version();
  ri.cores = unsigned(info->system.smp_vcpus);
  ri.options = g_opt.given;
  g_run = RunWriter::create(g_opt.base, wo, ri, &err).release();
  if (!g_run) {
    fprintf(stderr, "qemutrace: cannot write the trace (%s); tracing disabled, the guest keeps running\n",
            err.c_str());
    g_failed_reported = true;
    set_phase(Phase::Failed);
    register_callbacks();
    return 0;
  }
  for (unsigned k = 0; k < g_ncores; ++k) {
    if (int(k) >= info->system.smp_vcpus) break;
    g_v[k].sink = g_run->core(k);
    if (!g_v[k].sink) {
      fprintf(stderr, "qemutrace: cannot write the trace (%s); tracing disabled, the guest keeps running\n",
              g_run->error().c_str());
      g_failed_reported = true;
      set_phase(Phase::Failed);
      register_callbacks();
      return 0;
    }
  }
  g_score = qemu_plugin_scoreboard_new(sizeof(ScoreEntry));
  g_recseq = new RecordSeq[g_ncores];
  g_pool[0].init(g_ncores);
  g_pool[1].init(g_ncores);
  if (g_opt.limit >= 0) g_pool[0].reset(g_opt.limit);
  if (g_opt.window) g_pool[1].reset(int64_t(g_opt.window));
  g_pools_on = g_pool[0].active || g_pool[1].active;
  if (g_opt.limit == 0) {
    set_phase(Phase::Limit);
  } else if (g_opt.start == StartMode::Now) {
    start_condition(MarkerSource::StartOption, 0, -1);
  }
  register_callbacks();
  return 0;
}

}  // namespace
}  // namespace qemutrace::plugin

extern "C" QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info,
                                                      int argc, char** argv) {
  return qemutrace::plugin::install(id, info, argc, argv);
}
