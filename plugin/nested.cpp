#include "nested.h"

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "core.h"
#include "levels.h"
#include "qemutrace/format.h"
#include "guest_regs.h"
#include "record.h"
#include "translate.h"

namespace qemutrace::plugin {
namespace {

// Exit points of every VMRUN translated so far, for the translation of the
// blocks that start there. A VMRUN's block is always translated before its
// exit point's (that block runs only after the VMRUN).
struct ExitPoints {
  std::mutex mu;
  std::unordered_set<uint64_t> pcs;
  std::atomic<bool> any{false};
};
Immortal<ExitPoints> g_exit_points;

bool is_exit_point(uint64_t pc) {
  if (!g_exit_points->any.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lk(g_exit_points->mu);
  return g_exit_points->pcs.count(pc) != 0;
}

void note_exit_point(uint64_t pc) {
  std::lock_guard<std::mutex> lk(g_exit_points->mu);
  g_exit_points->pcs.insert(pc);
  g_exit_points->any.store(true, std::memory_order_release);
}

// The level and the address space change: the next record re-reads them,
// and cached page translations belong to the other level.
void level_changed(Vcpu& v) {
  v.ctx.asid_dirty = true;
  v.pages.gen++;
}

// Before the VMRUN (userdata: its TbInfo; the VMRUN ends the block).
void on_vm_entry(unsigned k, void* ud) {
  const TbInfo* ti = static_cast<const TbInfo*>(ud);
  Vcpu& v = g_plugin->vcpus[running_vcpu(k)];
  NestState& n = v.nest;
  v.ctx.runtime_level |= level::kNested;
  n.exit_pc = ti->fallthrough;
  n.host_asid = read_asid();
  level_changed(v);
}

// At the start of a block at an exit point (userdata: its TbInfo).
void on_vm_exit(unsigned k, void* ud) {
  const TbInfo* ti = static_cast<const TbInfo*>(ud);
  Vcpu& v = g_plugin->vcpus[running_vcpu(k)];
  NestState& n = v.nest;
  if (!(v.ctx.runtime_level & level::kNested) || ti->vaddr != n.exit_pc || ti->cpl != 0 ||
      read_asid() != n.host_asid)
    return;
  v.ctx.runtime_level &= uint8_t(~level::kNested);
  level_changed(v);
}

}  // namespace

NestSites find_nest_sites(const TbInfo& ti, const uint8_t* last_insn, size_t last_len) {
  NestSites s;
  if (!follows_nesting(g_plugin->opt.levels)) return s;
  s.entry = g_plugin->arch->enters_guest(last_insn, last_len);
  s.exit = is_exit_point(ti.vaddr);
  return s;
}

void instrument_nesting(qemu_plugin_tb* tb, TbInfo* ti, const NestSites& s) {
  if (s.exit) qemu_plugin_register_vcpu_tb_exec_cb(tb, on_vm_exit, QEMU_PLUGIN_CB_R_REGS, ti);
  if (s.entry) {
    note_exit_point(ti->fallthrough);
    qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, ti->n - 1);
    qemu_plugin_register_vcpu_insn_exec_cb(last, on_vm_entry, QEMU_PLUGIN_CB_R_REGS, ti);
  }
}

uint64_t current_asid(const Vcpu& v, uint64_t cr3_asid) {
  return (v.ctx.runtime_level & level::kNested) ? cr3_asid | kNestedAsidBit : cr3_asid;
}

}  // namespace qemutrace::plugin
