#include "translate.h"

#include <algorithm>
#include <cstddef>
#include <unordered_set>

#include "budget.h"
#include "guest_regs.h"
#include "nested.h"
#include "markers.h"
#include "phase.h"
#include "record.h"

namespace qemutrace::plugin {
namespace {

// The TbInfos of the current translation generation.
struct Translations {
  std::mutex mu;
  std::vector<TbInfo*> live;
  std::atomic<uint64_t> translations{0}, flushes{0};
};
Immortal<Translations> g_tbs;

enum class TransMode { Off, Skip, On, Dead };

TransMode trans_mode() {
  RoiState s = roi_state();
  switch (s.phase) {
    case Phase::Tracing: return TransMode::On;
    // The gap between two windows (every=) is short and switched often:
    // its blocks are translated for tracing, so that neither end of it
    // needs a flush; on_tb_exec counts it. skip= before the first region
    // counts in cheaper blocks up to its tail (budget.h, kSkipTail).
    case Phase::Skipping: return s.first_window && !skip_in_tail() ? TransMode::Skip : TransMode::On;
    case Phase::Off: return TransMode::Off;
    default: return TransMode::Dead;
  }
}

// Scoreboard fields, through the API's helper for a field of an entry.
qemu_plugin_u64 score_idx() {
  return qemu_plugin_scoreboard_u64_in_struct(g_plugin->score, ScoreEntry, idx);
}
qemu_plugin_u64 score_count() {
  return qemu_plugin_scoreboard_u64_in_struct(g_plugin->score, ScoreEntry, count);
}

bool marker_enabled(MarkerType t) {
  switch (t) {
    case MarkerType::NopStart:
    case MarkerType::NopStop: return g_plugin->opt.nop_markers;
    case MarkerType::IntStart:
    case MarkerType::IntStop:
    case MarkerType::IntConfirm: return g_plugin->opt.int_markers;
    default: return false;
  }
}

// store_idx: record progress before this instruction (see on_tb_trans).
void instrument_insn(qemu_plugin_insn* insn, TbInfo* ti, uint32_t i, const InsnClass& c,
                     bool is_marker, bool store_idx) {
  if (store_idx && g_plugin->single_thread.on) {
    // The inline store would hit the wrong entry (SingleThreadTcg).
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_progress, QEMU_PLUGIN_CB_NO_REGS,
                                           reinterpret_cast<void*>(uintptr_t(i)));
  } else if (store_idx) {
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_STORE_U64, score_idx(), i);
  }
  if (g_plugin->opt.count_check && !is_marker) {
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64, score_count(), 1);
  }
  qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                   &ti->refs[i]);
  if (c.changes_translation)  // CR3 writes included
    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mapping_change, QEMU_PLUGIN_CB_NO_REGS, nullptr);
}

}  // namespace

void on_tb_trans(qemu_plugin_id_t, qemu_plugin_tb* tb) {
  TransMode mode = trans_mode();
  if (mode == TransMode::Dead) return;
  const Arch& arch = *g_plugin->arch;
  RunWriter* run = g_plugin->run;
  g_tbs->translations.fetch_add(1, std::memory_order_relaxed);
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
    IntWatch& watch = int_watch();
    std::unique_lock<std::mutex> lk(watch.mu, std::defer_lock);
    bool have_watch = g_plugin->opt.int_markers;
    if (have_watch) {
      lk.lock();
      have_watch = !watch.points.empty();
      if (!have_watch) lk.unlock();
    }
    for (size_t i = 0; i < n; ++i) {
      qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
      size_t len = qemu_plugin_insn_data(insn, buf, sizeof(buf));
      if (len == 0 || len > 15) len = std::max<size_t>(1, std::min<size_t>(len, 15));
      lens[i] = uint8_t(len);
      ti->pcs[i] = qemu_plugin_insn_vaddr(insn);
      bytes.insert(bytes.end(), buf, buf + len);
      marks[i] = arch.match_marker(buf, len);
      if (!marker_enabled(marks[i].type)) marks[i].type = MarkerType::None;
      if (marks[i].type != MarkerType::None) any_marker = true;
      if (have_watch && watch.points.count(ti->pcs[i])) {
        watched[i] = true;
        any_watch = true;
      }
    }
  }
  ti->fallthrough = ti->pcs[n - 1] + lens[n - 1];
  NestSites nest_sites = find_nest_sites(*ti, bytes.data() + bytes.size() - lens[n - 1], lens[n - 1]);
  if (mode == TransMode::Off && !any_marker && !any_watch && !nest_sites.any()) {
    delete ti;  // nothing to instrument: zero cost while off
    return;
  }
  // Classification is needed for the last instruction (successor, fault
  // rule) and for CR3 writes in instrumented code.
  bool need_all = mode == TransMode::On || any_marker || any_watch;
  cls.resize(n);
  size_t off = 0;
  for (size_t i = 0; i < n; ++i) {
    if (need_all || i == n - 1) cls[i] = arch.classify(ti->pcs[i], bytes.data() + off, lens[i]);
    off += lens[i];
  }
  const InsnClass& lc = cls[n - 1];
  ti->last_pc = ti->pcs[n - 1];
  ti->last_rep = lc.is_rep_string;
  ti->last_must_access = lc.must_access_memory;
  switch (lc.flow) {
    case Flow::Next: ti->next_a = ti->next_b = ti->fallthrough; break;
    case Flow::Direct: ti->next_a = ti->next_b = lc.target; break;
    case Flow::CondDirect: ti->next_a = lc.target; ti->next_b = ti->fallthrough; break;
    default: ti->any_next = true; break;
  }
  // Read at translation time, valid for every execution: on x86 the CPL is
  // part of the block's flags (HF_CPL in hflags), so a block never runs at
  // another privilege level than the one it was translated at.
  BlockMode bm = read_block_mode();
  ti->cpl = bm.cpl;
  ti->level = block_level(g_plugin->opt.levels, ti->vaddr, bm.cpl);
  ti->paging = bm.paging;

  auto offset_of = [&](size_t i) {
    size_t o = 0;
    for (size_t j = 0; j < i; ++j) o += lens[j];
    return o;
  };
  // Blocks are interned with paddr 0: the API gives no guest-physical
  // address of a block's code at translation time, so blocks with the same
  // vaddr and bytes are one block whatever their page.
  auto intern_from = [&](size_t s) -> const StaticBlock* {
    if (s >= n || !run) return nullptr;
    return run->intern_block(ti->pcs[s], 0, bytes.data() + offset_of(s), lens.data() + s,
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
      s.next_pc = s.pc + lens[i];
      if (s.type == MarkerType::NopStart) {
        s.sub = intern_from(i + 1);
        s.sub_base = -int32_t(i + 1);
        first_gated = std::min(first_gated, i + 1);
      }
      ti->sites.push_back(s);
    }
  }

  if (mode == TransMode::On) {
    ti->sb = run ? run->intern_block(ti->vaddr, 0, bytes.data(), lens.data(), uint32_t(n)) : nullptr;
    if (!ti->sb) {
      delete ti;
      return;
    }
    if (ti->last_rep) ti->rep_sb = intern_from(n - 1);
  }
  // Before the block's execution callback (nested.h).
  if (nest_sites.any()) instrument_nesting(tb, ti, nest_sites);
  if (mode == TransMode::On) {
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
      // Legacy sites read the stack pointer and IntConfirm's arguments.
      const Site& st = ti->sites[si];
      bool regs = st.watch || st.type == MarkerType::IntStart || st.type == MarkerType::IntConfirm;
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker, regs ? QEMU_PLUGIN_CB_R_REGS : QEMU_PLUGIN_CB_NO_REGS,
                                             &ti->sites[si]);
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
  std::lock_guard<std::mutex> lk(g_tbs->mu);
  g_tbs->live.push_back(ti);
}

// All translations are gone (exclusive context): free their TbInfos, except
// those an open record still points to.
void on_flush(qemu_plugin_id_t) {
  g_tbs->flushes.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lk(g_tbs->mu);
  std::unordered_set<TbInfo*> keep;
  for (auto& v : g_plugin->vcpus)
    if (v.rec.exec) keep.insert(v.rec.exec);
  std::vector<TbInfo*> kept;
  for (TbInfo* t : g_tbs->live) {
    if (keep.count(t)) kept.push_back(t);
    else delete t;
  }
  g_tbs->live.swap(kept);
  for (auto& v : g_plugin->vcpus) {
    if (!v.rec.block) v.rec.exec = nullptr;
    v.score = nullptr;
  }
}

std::mutex& translation_mutex() { return g_tbs->mu; }
uint64_t translations() { return g_tbs->translations.load(); }
uint64_t flushes() { return g_tbs->flushes.load(); }

}  // namespace qemutrace::plugin
