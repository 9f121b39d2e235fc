// What every room of the plugin shares: the run (writer, architecture,
// options) and the per-vCPU state. Each room owns one part of Vcpu; the parts
// are laid out hot first, because every executed block reads them.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include <qemu-plugin.h>
}

#include "arch/arch.h"
#include "nested.h"
#include "options.h"
#include "format/lent_window.h"
#include "qemutrace/run.h"
#include "qemutrace/writer.h"

namespace qemutrace::plugin {

// Storage that is constructed at load and never destroyed: QEMU's atexit
// callback runs after this library's static destructors. Its address is
// fixed, so the hot path reaches it without loading a pointer first.
// State with a non-trivial destructor lives in one; the plain globals
// (g_roi, g_budgets, g_resets, g_regs) are trivially destructible, which
// each asserts, so nothing of theirs is torn down before that callback.
template <class T>
class Immortal {
 public:
  Immortal() { new (buf_) T(); }
  T& operator*() { return *std::launder(reinterpret_cast<T*>(buf_)); }
  T* operator->() { return std::launder(reinterpret_cast<T*>(buf_)); }

 private:
  alignas(T) unsigned char buf_[sizeof(T)];
};

struct TbInfo;

// The page of the page cache below: the format's page (kPageShift),
// also QEMU's TLB granule on x86.
constexpr uint64_t kPageMask = (uint64_t(1) << kPageShift) - 1;

// One scoreboard entry per vCPU, one cache line each: every block stores
// into its entry inline, and entries of different vCPUs on one line made the
// cores fight over it.
struct alignas(64) ScoreEntry {
  uint64_t idx;    // index in its TB of the last instruction that started and
                   // could stop the block (see translate.cpp)
  uint64_t count;  // count_check: instructions started while recording
};
static_assert(sizeof(ScoreEntry) == 64, "one scoreboard entry per cache line");

// The open record of one core (record.cpp).
struct OpenRecord {
  const StaticBlock* block = nullptr;  // null: no record open
  uint32_t n = 0;                      // block->insn_count, without touching block
  TbInfo* exec = nullptr;              // the translated block executing it
  int32_t base = 0;                    // record index = index in exec + base
  uint32_t cap = 0;                    // instructions the budget granted
  uint32_t acc_count = 0;
  int32_t last_acc = -1;  // record index of the last access
  int32_t io_done = -1;   // record index of an I/O instruction QEMU re-ran alone
};

// Privilege level and address space last written to the sink (record.cpp).
struct GuestContext {
  bool valid = false;
  bool asid_dirty = true;  // re-read the address space at the next record
  uint8_t cpl = 0;
  uint8_t level = 0;  // level:: bits last written
  // Level bits only execution tells (levels.h), ORed into every block's.
  uint8_t runtime_level = 0;
  uint64_t asid = 0;
};

// The successors the last closed record allows, until checked (at its close,
// or at the next block if the vCPU went idle first).
struct Successors {
  bool pending = false, any = false;
  uint64_t a = 0, b = 0, rep_pc = 0;
};

// The budget pools a record takes from (budget.cpp).
enum class Budget : int { Limit = 0, Window = 1 };
constexpr int kBudgets = 2;

// One core's side of the budgets (budget.cpp).
struct CoreBudget {
  // The open record's instructions (cap) were taken out of each active pool
  // when it opened, in this pool epoch.
  uint32_t commit_epoch[kBudgets] = {0, 0};
  bool starved = false;  // also cleared by core_begin (record.cpp): a new region
  // While starved with the budget all in other cores' open records: their
  // record counters when last seen, and starved blocks since one moved.
  std::vector<uint32_t> wait_seq;
  uint32_t wait_blocks = 0;
  uint64_t wait_since_ns = 0;
  // skip= / every=: instructions skipped, not yet added to the shared count,
  // of skip period skip_epoch. Only the owner writes them: a new period
  // (restart_skip) bumps the shared epoch and each core drops its stale
  // count when it next counts.
  uint64_t skip_local = 0;
  uint32_t skip_epoch = 0;
};

// count_check bookkeeping (options: count_check=on).
struct CountCheck {
  uint64_t start = 0;
  // Starved (no budget) inside the region: the blocks run, the inline
  // counter counts them, nothing is traced; inline_count skips them.
  bool paused = false;
  uint64_t inline_count = 0;
  uint64_t faults = 0;
  uint64_t cut_excess = 0;
  uint64_t rep_merges = 0;
  uint64_t rep_splits = 0;
};

// Recent virtual-to-physical page mappings of one core, so that most
// accesses skip QEMU's TLB lookup. ("Translation" elsewhere in the plugin is
// QEMU's translation of code into blocks.) An entry is valid while `gen`
// matches the core's generation, which moves at every instruction that may
// change the core's mappings (arch: InsnClass::changes_translation,
// on_mapping_change) and when paging is off (reset); architecturally a
// mapping change is not visible before such an instruction on this core.
struct PageEntry {
  uint64_t key = 0;  // page_key(): the virtual page and QEMU's mmu_idx
  uint64_t pframe = 0;
  uint32_t gen = 0;
};
// vaddr >> kPageShift has at most 52 bits, mmu_idx 4 (meminfo.h).
inline uint64_t page_key(uint64_t vpage, uint32_t mmu_idx) { return vpage << 4 | mmu_idx; }
constexpr unsigned kPageCacheEntries = 64;
struct PageCache {
  uint32_t gen = 1;
  PageEntry entry[kPageCacheEntries];
};

// Whether this core is inside a region of interest (record.cpp: core_begin,
// core_end).
struct RegionState {
  bool tracing = false;  // ROI_BEGIN written, ROI_END not yet
  uint32_t epoch = 0;  // the region (Roi::epoch) it records in
};

// The continuity of this core's instruction stream (record.cpp; budget.cpp
// queues a discontinuity when budget comes back after starving).
struct StreamState {
  uint64_t last_pc = 0;  // last retired instruction
  bool disc_pending = false;
  Marker disc;  // written before the next record when disc_pending
  Successors succ;
  uint64_t blocks = 0;  // records opened (sink failure is checked every 1024)
};

// One named part per concern (docs/architecture.md says which room owns it).
struct alignas(64) Vcpu {
  TraceSink* sink = nullptr;
  LentWindow* win = nullptr;  // sink's fast path (lent_window.h); set with sink
  ScoreEntry* score = nullptr;  // this core's entry; refetched after a flush
  RegionState region;
  OpenRecord rec;
  GuestContext ctx;
  StreamState stream;
  CoreBudget budget;
  CountCheck check;  // record.cpp, when count_check=on
  PageCache pages;
  NestState nest;  // nested.cpp
  // Single-threaded TCG: what score->idx holds otherwise (on_progress).
  uint64_t progress = 0;
};

// Single-threaded TCG (-icount, -accel tcg,thread=single): one host thread
// runs every vCPU in turn, and QEMU 10.0 then bakes the index of the vCPU
// that *translated* a block into its callbacks and inline ops (plugin-gen.c,
// gen_cpu_index: a constant unless CF_PARALLEL); gen_plugin_u64_ptr even
// multiplies that constant in place, so vCPU k's inline store lands at byte
// k of the scoreboard, not entry k. Blocks are shared by all vCPUs. So in
// that mode callbacks take the running vCPU from QEMU (record.cpp,
// running_vcpu) and progress is recorded by a callback (on_progress).
struct SingleThreadTcg {
  bool on = false;       // multi-threaded TCG reads this flag and nothing else
  unsigned running = 0;  // the vCPU whose callbacks ran last
  std::mutex mu;         // init_threads
  std::vector<pid_t> init_threads;  // host thread of each vCPU's init callback
};

// The run, set up once at install (main.cpp).
struct PluginState {
  qemu_plugin_id_t id = 0;
  Options opt;  // parsed once; read-only afterwards
  Arch* arch = nullptr;
  RunWriter* run = nullptr;
  std::vector<Vcpu> vcpus;
  unsigned ncores = 1;
  qemu_plugin_scoreboard* score = nullptr;
  SingleThreadTcg single_thread;
  std::atomic<bool> failed_reported{false};
  std::atomic<bool> finished{false};
  std::mutex event_mu;
};
extern Immortal<PluginState> g_plugin;

// The scoreboard only moves when QEMU grows it, and it flushes all blocks
// then (on_flush clears the cached pointers), so one lookup per flush.
inline ScoreEntry* score(unsigned k) {
  Vcpu& v = g_plugin->vcpus[k];
  if (!v.score) v.score = static_cast<ScoreEntry*>(qemu_plugin_scoreboard_find(g_plugin->score, k));
  return v.score;
}

// One line on stderr unless quiet=on.
void say(const std::string& s);
// An entry of the manifest's event list.
void event(const char* name, MarkerSource src, int id, int core, std::string detail = {});
// The trace cannot be written: stop tracing, report once, keep the guest running.
void fail_trace(unsigned k, const std::string& why, int err);
// Core k's sink failed since the last check.
void check_failure(unsigned k);
// The sink of a core that was not there at start (hotplug).
bool attach_sink(unsigned k);
// Gives vCPU v its sink and the sink's fast-path window; false for nullptr.
inline bool set_sink(Vcpu& v, TraceSink* sink) {
  v.sink = sink;
  v.win = sink ? &lent_window_of(*sink) : nullptr;
  return sink != nullptr;
}

}  // namespace qemutrace::plugin
