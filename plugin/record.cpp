#include "record.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "budget.h"
#include "guest_regs.h"
#include "nested.h"
#include "meminfo.h"
#include "phase.h"
#include "qemu_shim.h"

namespace qemutrace::plugin {
namespace {

// Accesses per record: the tracer's own cap, well below the format's
// kMaxAccessesPerExec (2^22), so a long REP string instruction shows up as
// several retired instances of itself, each with at most this many.
constexpr uint32_t kMaxAccPerRecord = 65536 - 2;

// The index of the last instruction of the open record's block that started
// (translate.cpp): the inline store, or on_progress in single-threaded TCG.
inline uint64_t progress_idx(const Vcpu& v, unsigned k) {
  return g_plugin->single_thread.on ? v.progress : score(k)->idx;
}

// The core's region began in the ROI epoch now running (a stop and a new
// start in between make it stale).
inline bool region_epoch_current(const Vcpu& v) {
  return v.region.epoch == g_roi.epoch.load(std::memory_order_relaxed);
}

// The per-record state of a newly opened or chained record: the one place
// that resets it.
// n is sb->insn_count, passed so that chaining does not touch sb.
inline void start_record(Vcpu& v, unsigned k, TbInfo* ex, const StaticBlock* sb, uint32_t n,
                         int32_t base, uint32_t cap) {
  OpenRecord& r = v.rec;
  r.block = sb;
  r.n = n;
  r.exec = ex;
  r.base = base;
  r.cap = cap;
  r.acc_count = 0;
  r.last_acc = -1;
  r.io_done = -1;
  if ((++v.stream.blocks & 1023) == 0) check_failure(k);
}

void update_context(Vcpu& v, const TbInfo* tb) {
  GuestContext& c = v.ctx;
  const uint8_t cpl = tb->cpl, lv = tb->level | c.runtime_level;
  if (c.asid_dirty || !c.valid) {
    uint64_t a = current_asid(v, read_asid());
    c.asid_dirty = false;
    v.pages.gen++;  // after the instruction that set asid_dirty took effect
    if (!c.valid || a != c.asid || cpl != c.cpl || lv != c.level) {
      c.asid = a;
      c.cpl = cpl;
      c.level = lv;
      c.valid = true;
      v.sink->set_context(cpl, a, lv);
    }
  } else if (cpl != c.cpl || lv != c.level) {
    c.cpl = cpl;
    c.level = lv;
    v.sink->set_context(cpl, c.asid, lv);
  }
}

uint64_t rec_pc(const StaticBlock* sb, uint32_t i) {
  uint64_t pc = sb->vaddr;
  for (uint32_t j = 0; j < i && j < sb->lengths.size(); ++j) pc += sb->lengths[j];
  return pc;
}

// The next block (at pc) after the record whose allowed successors are in
// v.stream.succ: at its close, or at the next block when it closed with
// kSuccessorLater.
void check_successor(Vcpu& v, uint64_t pc) {
  Successors& s = v.stream.succ;
  if (!s.pending) return;
  s.pending = false;
  if (s.any || pc == s.a || pc == s.b || pc == s.rep_pc) return;
  v.stream.disc_pending = true;
  v.stream.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Interrupt, 0, v.stream.last_pc};
}

// The common case of on_tb_exec: the open record ran whole into its
// expected successor, which opens the next record in the same context.
inline bool chain_record(Vcpu& v, unsigned k, TbInfo* tb) {
  TbInfo* ex = v.rec.exec;
  if (ex->last_rep || v.rec.base != 0 || v.rec.cap != ex->n || v.score->idx + 1 != ex->n) return false;
  if (ex->last_must_access && v.rec.last_acc != int32_t(ex->n) - 1) return false;  // it faulted
  if (!(ex->any_next || tb->vaddr == ex->next_a || tb->vaddr == ex->next_b)) return false;
  if (tb->cpl != v.ctx.cpl || (tb->level | v.ctx.runtime_level) != v.ctx.level || v.ctx.asid_dirty || !v.ctx.valid || v.stream.disc_pending || budgets_on())
    return false;
  if (phase() != Phase::Tracing || !region_epoch_current(v)) return false;
  v.stream.last_pc = ex->last_pc;
  chain_block(*v.sink, *v.win, ex->n, tb->sb);
  start_record(v, k, tb, tb->sb, tb->n, 0, tb->n);
  return true;
}

void split_rep(Vcpu& v, unsigned k, int32_t ri) {
  // Too many accesses for one record: the REP instruction retires here and a
  // new instance of it (a one-instruction block) continues.
  TbInfo* ex = v.rec.exec;
  if (!ex->rep_sb || ri != int32_t(v.rec.block->insn_count) - 1) return;
  uint32_t retired = std::min<uint32_t>(v.rec.block->insn_count, v.rec.cap);
  v.sink->end_block(retired);
  v.rec.block = nullptr;
  v.stream.last_pc = ex->last_pc;
  Drained d = settle_budget(v, k, retired);
  bool drained = d.limit || d.window;
  if (drained || phase() != Phase::Tracing) return;  // next block start handles it
  // A split balances count_check only when the instruction goes on traced.
  if (open_record(v, k, ex, ex->rep_sb, -int32_t(ex->n - 1))) v.check.rep_splits++;
}

// An access from a block without an execution callback: QEMU's memory-only
// re-run of one I/O instruction of the current block. Find it by PC.
int32_t remap_io(Vcpu& v, const InsnRef* r) {
  uint64_t pc = r->tb->pcs[r->idx];
  TbInfo* ex = v.rec.exec;
  for (uint32_t i = 0; i < ex->n; ++i) {
    if (ex->pcs[i] == pc) {
      int32_t ri = int32_t(i) + v.rec.base;
      v.rec.io_done = ri;
      return ri;
    }
  }
  return -1;
}

// Whether ud is one of ex's InsnRefs; *idx is then its index in ex.
inline bool ref_index(const TbInfo* ex, const void* ud, uintptr_t* idx) {
  uintptr_t off = uintptr_t(ud) - uintptr_t(ex->ref0);
  *idx = off / sizeof(InsnRef);
  return off < uintptr_t(ex->n) * sizeof(InsnRef);
}
// The record index of the instruction making an access: from the
// userdata's address in the executing block's InsnRef array, without
// reading the (often cold) InsnRef itself; an InsnRef of another block is an
// I/O re-run (remap_io). May be out of the record's range.
inline int32_t record_index(Vcpu& v, const InsnRef* r) {
  uintptr_t i;
  if (ref_index(v.rec.exec, r, &i)) return int32_t(i) + v.rec.base;
  return remap_io(v, r);
}

inline PageEntry& page_slot(PageCache& x, uint64_t vpage, uint32_t mmu_idx) {
  return x.entry[(vpage ^ (vpage >> 6) ^ mmu_idx) % kPageCacheEntries];
}
// Whether the page of vaddr is cached; *paddr is then vaddr's physical address.
inline bool cached_paddr(PageCache& x, uint64_t vaddr, uint32_t mmu_idx, uint64_t* paddr) {
  uint64_t vpage = vaddr >> kPageShift;
  const PageEntry& e = page_slot(x, vpage, mmu_idx);
  if (e.key != page_key(vpage, mmu_idx) || e.gen != x.gen) return false;
  *paddr = e.pframe | (vaddr & kPageMask);
  return true;
}

inline uint64_t physical_address(Vcpu& v, qemu_plugin_meminfo_t info, uint64_t vaddr) {
  uint32_t mmu_idx = meminfo::mmu_idx(info);
  PageCache& x = v.pages;
  if (!v.rec.exec->paging) x.gen++;  // no paging (e.g. after a reset): forget all
  uint64_t paddr;
  if (cached_paddr(x, vaddr, mmu_idx, &paddr)) return paddr;
  qemu_plugin_hwaddr* hw = qemu_plugin_get_hwaddr(info, vaddr);
  if (!hw) return 0;
  paddr = qemu_plugin_hwaddr_phys_addr(hw);
  uint64_t vpage = vaddr >> kPageShift;
  page_slot(x, vpage, mmu_idx) = PageEntry{page_key(vpage, mmu_idx), paddr & ~kPageMask, x.gen};
  return paddr;
}

inline void record_access(Vcpu& v, qemu_plugin_meminfo_t info, uint64_t vaddr, int32_t ri) {
  const Options& opt = g_plugin->opt;
  unsigned size_log2 = meminfo::size_log2(info);
  unsigned rw = meminfo::rw(info);
  uint64_t paddr = 0;
  if (opt.phys) paddr = physical_address(v, info, vaddr);
  uint64_t lo = 0, hi = 0;
  if (opt.values) {
    qemu_plugin_mem_value mv = qemu_plugin_mem_get_value(info);
    switch (mv.type) {
      case QEMU_PLUGIN_MEM_VALUE_U8: lo = mv.data.u8; break;
      case QEMU_PLUGIN_MEM_VALUE_U16: lo = mv.data.u16; break;
      case QEMU_PLUGIN_MEM_VALUE_U32: lo = mv.data.u32; break;
      case QEMU_PLUGIN_MEM_VALUE_U64: lo = mv.data.u64; break;
      case QEMU_PLUGIN_MEM_VALUE_U128: lo = mv.data.u128.low; hi = mv.data.u128.high; break;
    }
  }
  if (rw == meminfo::kReadWrite) {  // atomic read-modify-write: a load and a store
    v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, false, lo, hi);
    v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, true, lo, hi);
    v.rec.acc_count += 2;
  } else {
    bool store = rw == meminfo::kWrite;
    if (opt.values) v.sink->access(uint32_t(ri), vaddr, paddr, size_log2, store, lo, hi);
    else append_access(*v.sink, *v.win, uint32_t(ri), vaddr, paddr, size_log2, store);
    v.rec.acc_count++;
  }
  v.rec.last_acc = ri;
}

// count_check: a starved core's blocks run in its region untraced, so the
// inline counter stops counting for the region until budget comes back.
void pause_count_check(Vcpu& v, unsigned k) {
  if (!g_plugin->opt.count_check || !v.region.tracing || v.check.paused) return;
  v.check.inline_count += score(k)->count - v.check.start;
  v.check.paused = true;
}
void resume_count_check(Vcpu& v, unsigned k) {
  if (!v.check.paused) return;
  v.check.start = score(k)->count;
  v.check.paused = false;
}

// A block of n instructions ran while skipping (skip= or a gap of every=).
void count_skip_block(Vcpu& v, unsigned k, uint32_t n) {
  uint32_t period;
  bool tail_begins = false;
  if (count_skipped(v, n, &period, &tail_begins)) end_skipping(k, period);
  else if (tail_begins) request_reset_vcpu();  // into blocks translated for tracing
}

}  // namespace

bool open_record(Vcpu& v, unsigned k, TbInfo* ex, const StaticBlock* sb, int32_t base) {
  uint32_t cap = sb->insn_count;
  if (budgets_on()) {
    if (!take_budget(v, k, &cap)) {
      pause_count_check(v, k);
      return false;
    }
    resume_count_check(v, k);
  }
  update_context(v, ex);
  if (v.stream.disc_pending) {
    v.sink->marker(v.stream.disc);
    v.stream.disc_pending = false;
  }
  v.sink->begin_block(sb);
  start_record(v, k, ex, sb, sb->insn_count, base, cap);
  return true;
}

void close_record(Vcpu& v, unsigned k, uint64_t next_pc, bool may_declare) {
  TbInfo* ex = v.rec.exec;
  const StaticBlock* sb = v.rec.block;
  uint32_t rec_n = sb->insn_count;
  int64_t kidx = int64_t(progress_idx(v, k));
  int64_t ri = kidx + v.rec.base;
  uint32_t retired;
  bool faulted = false;
  bool io_rerun = false;
  if (kidx >= int64_t(ex->n) - 1 || ri >= int64_t(rec_n) - 1) {
    if (ex->last_must_access && v.rec.last_acc != int32_t(rec_n - 1)) {
      retired = rec_n - 1;
      faulted = true;
    } else {
      retired = rec_n;
    }
  } else if (ri < 0) {
    retired = 0;
  } else if (v.rec.io_done == int32_t(ri)) {
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
  if (retired > v.rec.cap) {
    if (g_plugin->opt.count_check) v.check.cut_excess += retired - v.rec.cap + (faulted ? 1 : 0);
    retired = v.rec.cap;
    cut = true;
    faulted = false;
  }
  v.sink->end_block(retired);
  v.rec.block = nullptr;
  if (faulted) v.check.faults++;
  uint64_t last = retired == rec_n ? ex->last_pc : (retired ? rec_pc(sb, retired - 1) : v.stream.last_pc);
  v.stream.last_pc = last;
  if (faulted) {
    v.stream.disc_pending = true;
    v.stream.disc = Marker{MarkerKind::Discontinuity, MarkerSource::Exception, 0, last};
  } else if (!cut && next_pc) {
    // The successors this execution allows; anything else is an interrupt.
    if (io_rerun) {
      // Execution went on after the re-run instruction: its fall-through.
      uint32_t j = uint32_t(kidx);
      uint64_t ft = j + 1 < ex->n ? ex->pcs[j + 1] : ex->fallthrough;
      v.stream.succ = {true, false, ft, ft, ft};
    } else {
      v.stream.succ = {true, ex->any_next, ex->next_a, ex->next_b, ex->last_rep ? ex->last_pc : ex->next_a};
    }
    if (next_pc != kSuccessorLater) check_successor(v, next_pc);
  }
  Drained drained = settle_budget(v, k, retired);
  if (!may_declare) return;
  if (drained.limit && phase() == Phase::Tracing) declare_limit(k);
  else if (drained.window && phase() == Phase::Tracing) declare_window_end(k, drained.window_epoch);
}

void close_record_before(Vcpu& v, unsigned k, uint32_t idx) {
  int32_t ri = int32_t(idx) + v.rec.base;
  uint32_t retired = ri < 0 ? 0 : std::min<uint32_t>(uint32_t(ri), v.rec.cap);
  v.sink->end_block(retired);
  const StaticBlock* sb = v.rec.block;
  v.rec.block = nullptr;
  if (retired) v.stream.last_pc = rec_pc(sb, retired - 1);
  settle_budget(v, k, retired);
}

bool core_begin(Vcpu& v, unsigned k) {
  if (v.region.tracing) return true;
  // The region's epoch and markers of one moment. The caller saw Tracing,
  // but that region may have ended since (then it is not begun: it would
  // end at once with the stop that ended it, a second time on this core).
  RoiView r = roi_view();
  if (r.state.phase != Phase::Tracing) return false;
  v.region.tracing = true;
  v.stream.succ.pending = false;
  v.region.epoch = r.epoch;
  v.ctx.valid = false;
  v.ctx.asid_dirty = true;
  v.stream.disc_pending = false;
  v.budget.starved = false;
  v.sink->marker(Marker{MarkerKind::RoiBegin, r.state.start_source, r.state.start_id, 0});
  if (r.state.after_skip) v.sink->marker(Marker{MarkerKind::SkipDone, MarkerSource::None, 0, g_plugin->opt.skip});
  if (g_plugin->opt.count_check) v.check.start = score(k)->count;
  v.check.paused = false;
  return true;
}

void core_end(Vcpu& v, unsigned k, const Marker& end) {
  if (!v.region.tracing) return;
  v.stream.disc_pending = false;
  v.stream.succ.pending = false;
  v.sink->marker(end);
  v.region.tracing = false;
  release_budget(k);
  if (g_plugin->opt.count_check && !v.check.paused) v.check.inline_count += score(k)->count - v.check.start;
  v.check.paused = false;
}

void end_region(Vcpu& v, unsigned k, const Marker& end) {
  if (v.rec.block) close_record(v, k, 0);
  core_end(v, k, end);
}

void end_region(Vcpu& v, unsigned k) {
  if (v.rec.block) close_record(v, k, 0);
  core_end(v, k, end_marker_for_phase());
}

void end_every_region() {
  for (unsigned k = 0; k < g_plugin->vcpus.size(); ++k) {
    Vcpu& v = g_plugin->vcpus[k];
    if (v.sink && (v.rec.block || v.region.tracing)) end_region(v, k);
  }
}

void on_tb_exec(unsigned k, void* ud) {
  TbInfo* tb = static_cast<TbInfo*>(ud);
  bool single = __builtin_expect(g_plugin->single_thread.on, 0);
  if (single) k = running_vcpu_lookup(k);
  Vcpu& v = g_plugin->vcpus[k];
  // Single-threaded TCG: the progress is not in v.score (progress_idx).
  if (!single && v.rec.block && v.score && chain_record(v, k, tb)) return;
  if (!v.sink && !attach_sink(k)) return;
  if (v.rec.block) {
    TbInfo* ex = v.rec.exec;
    if (ex->last_rep && tb->vaddr == ex->last_pc && tb->n == 1 && tb->last_rep &&
        phase() == Phase::Tracing &&
        int64_t(progress_idx(v, k)) == int64_t(ex->n) - 1 &&
        int32_t(progress_idx(v, k)) + v.rec.base == int32_t(v.rec.block->insn_count) - 1) {
      // The REP instruction goes on in a new TB (QEMU re-enters it after
      // REP_MAX iterations): same retired instruction.
      v.rec.base = int32_t(v.rec.block->insn_count) - 1;
      v.rec.exec = tb;
      v.check.rep_merges++;
      return;
    }
    close_record(v, k, tb->vaddr);
  } else {
    check_successor(v, tb->vaddr);
  }
  Phase ph = phase();
  if (ph != Phase::Tracing) {
    if (v.region.tracing) end_region(v, k);
    if (ph == Phase::Skipping) count_skip_block(v, k, tb->n);  // a gap between windows
    return;
  }
  if (v.region.tracing && !region_epoch_current(v))
    core_end(v, k, end_marker_for_phase());  // the stop since this core's region began
  if (!core_begin(v, k)) return;
  open_record(v, k, tb, tb->sb, 0);
}

void on_tb_skip(unsigned k, void* ud) {
  TbInfo* tb = static_cast<TbInfo*>(ud);
  k = running_vcpu(k);
  Vcpu& v = g_plugin->vcpus[k];
  if (!v.sink && !attach_sink(k)) return;
  Phase ph = phase();
  if (ph == Phase::Tracing && v.region.tracing && region_epoch_current(v)) {
    // A block translated for the skip still runs in the region that
    // followed it (until the flush): its instructions are not traced, but
    // the region goes on. Ending it here wrote an extra ROI_END (source
    // window) and a second ROI_BEGIN in the same region.
    if (v.rec.block) close_record(v, k, 0);
    if (v.region.tracing) {
      v.stream.disc_pending = true;
      v.stream.disc = Marker{MarkerKind::Discontinuity, MarkerSource::None, 0, v.stream.last_pc};
    }
    return;
  }
  if (v.rec.block || v.region.tracing) end_region(v, k);
  if (ph == Phase::Skipping) count_skip_block(v, k, tb->n);
}

// Every access that is not the common case (on_mem below): single-threaded
// TCG, an I/O re-run, a long REP string, values, an atomic access, a page
// cache miss or a full window.
[[gnu::noinline]] void on_mem_general(unsigned k, qemu_plugin_meminfo_t info, uint64_t vaddr, void* ud) {
  k = running_vcpu(k);
  Vcpu& v = g_plugin->vcpus[k];
  if (!v.rec.block) return;
  const InsnRef* r = static_cast<const InsnRef*>(ud);
  int32_t ri = record_index(v, r);
  if (ri < 0 || ri >= int32_t(v.rec.n)) return;
  if (v.rec.acc_count >= kMaxAccPerRecord) {
    // Only a REP string instruction, always the last of its block, makes
    // this many accesses. split_rep retires it and opens a record for its
    // next instance with a new base, so the index is computed again. If no
    // record could be opened (budget or region over), the access belongs to
    // no record and is dropped, like any access outside one.
    split_rep(v, k, ri);
    if (!v.rec.block || v.rec.acc_count >= kMaxAccPerRecord) return;
    ri = record_index(v, r);
    if (ri < 0 || ri >= int32_t(v.rec.n)) return;
  }
  record_access(v, info, vaddr, ri);
}

// The common case of an access, in as few registers as need no saving:
// anything else goes to on_mem_general by a tail call, before any state
// changes, so that this function needs no stack frame. The order keeps few
// values live at once.
void on_mem(unsigned k, qemu_plugin_meminfo_t info, uint64_t vaddr, void* ud) {
  const PluginState& p = *g_plugin;
  if (__builtin_expect(p.single_thread.on | p.opt.values, 0)) return on_mem_general(k, info, vaddr, ud);
  Vcpu& v = g_plugin->vcpus[k];
  if (!v.rec.block) return;
  const TbInfo* ex = v.rec.exec;
  uintptr_t idx;
  const bool phys = p.opt.phys;
  if (!ref_index(ex, ud, &idx) || (phys && !ex->paging) || v.rec.acc_count >= kMaxAccPerRecord ||
      meminfo::rw(info) == meminfo::kReadWrite)
    return on_mem_general(k, info, vaddr, ud);
  int32_t ri = int32_t(idx) + v.rec.base;
  if (ri < 0 || ri >= int32_t(v.rec.n)) return;
  uint64_t paddr = 0;
  if (phys && !cached_paddr(v.pages, vaddr, meminfo::mmu_idx(info), &paddr))
    return on_mem_general(k, info, vaddr, ud);
  LentWindow& w = *v.win;
  if (w.acc == w.acc_end) return on_mem_general(k, info, vaddr, ud);
  *w.acc++ = RawAccess{vaddr, paddr, uint32_t(ri), uint8_t(meminfo::size_log2(info)),
                       meminfo::rw(info) == meminfo::kWrite};
  v.rec.acc_count++;
  v.rec.last_acc = ri;
}

// Before an instruction that may change page mappings (CR3 writes among
// them); the next block start re-reads the address space and moves the
// generation again, for what the instruction itself changed.
void on_mapping_change(unsigned k, void*) {
  k = running_vcpu(k);
  Vcpu& v = g_plugin->vcpus[k];
  v.ctx.asid_dirty = true;
  v.pages.gen++;
}

void on_idle(qemu_plugin_id_t, unsigned int k) {
  reset_if_requested();
  if (k >= g_plugin->vcpus.size()) return;
  // A halted vCPU ends its record (the block ran up to the halt), so that
  // it does not hold budget that other cores wait for; the successor is
  // checked when it runs again. Then its unused lease goes back.
  // Not declaring a limit or window end here: that flushes translations,
  // and QEMU would queue the flush on this vCPU, which sleeps right after
  // this callback without seeing it. Under the translation mutex: a flush
  // (on_flush) may run on another thread meanwhile, since this vCPU is not
  // running.
  Vcpu& v = g_plugin->vcpus[k];
  if (v.rec.block) {
    std::lock_guard<std::mutex> lk(translation_mutex());
    close_record(v, k, kSuccessorLater, /*may_declare=*/false);
  }
  release_budget(k);
}

void on_progress(unsigned k, void* ud) { g_plugin->vcpus[running_vcpu(k)].progress = uintptr_t(ud); }

// A change of running vCPU means the previous one was descheduled between
// blocks: its open record ends there, as when it goes idle (QEMU calls no
// idle callback in round-robin). The new vCPU has recorded no progress yet:
// every instrumented block begins with a callback.
unsigned running_vcpu_lookup(unsigned k) {
  SingleThreadTcg& st = g_plugin->single_thread;
  int j = shim::current_vcpu(st.running);
  if (j < 0) return k;  // not a vCPU we know (hotplug): trust QEMU
  unsigned prev = st.running;
  st.running = unsigned(j);
  if (prev != unsigned(j)) on_idle(g_plugin->id, prev);
  return unsigned(j);
}

void note_vcpu_thread(unsigned k) {
  PluginState& p = *g_plugin;
  SingleThreadTcg& st = p.single_thread;
  std::lock_guard<std::mutex> lk(st.mu);
  pid_t me = gettid();
  if (st.init_threads.size() <= k) st.init_threads.resize(k + 1, 0);
  st.init_threads[k] = me;
  if (st.on || std::count(st.init_threads.begin(), st.init_threads.end(), me) < 2) return;
  if (!shim::find_current_cpu(p.ncores)) {
    fprintf(stderr, "qemutrace: warning: single-threaded TCG, but QEMU does not export current_cpu: "
                    "instructions may be attributed to the wrong vCPU\n");
    return;
  }
  say("single-threaded TCG: one host thread runs every vCPU; callbacks ask QEMU which one");
  st.on = true;
}

}  // namespace qemutrace::plugin
