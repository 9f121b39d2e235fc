// The per-vCPU record: one EXEC record per executed block (or part of one),
// opened at the block's execution callback, chained into the next block when
// it ran whole into an expected successor, and closed with the number of
// instructions that retired. Also the execution callbacks that drive it.
#pragma once

#include <cstdint>

#include "core.h"
#include "translate.h"

namespace qemutrace::plugin {

// close_record's next_pc: check the successor at the next block executed.
constexpr uint64_t kSuccessorLater = ~uint64_t(0);

// Opens a record for `sb` (executed by `ex`, record index = index in ex +
// base); false if no budget is left for this core.
bool open_record(Vcpu& v, unsigned k, TbInfo* ex, const StaticBlock* sb, int32_t base);
// Ends the open record. next_pc == 0: unknown (no discontinuity check);
// kSuccessorLater: checked against the next block executed.
// may_declare: the budget it drains may be declared spent here (limit or
// window end); otherwise the next starved block on any core declares it.
void close_record(Vcpu& v, unsigned k, uint64_t next_pc, bool may_declare = true);
// Ends the open record just before instruction `idx` of its block (a STOP
// marker there).
void close_record_before(Vcpu& v, unsigned k, uint32_t idx);

// Starts recording on this core (ROI_BEGIN); false if the phase is no
// longer Tracing (the region ended meanwhile). True if already recording.
bool core_begin(Vcpu& v, unsigned k);
// Stops recording on this core with `end` (ROI_END, LIMIT_REACHED); the open
// record must already be closed.
void core_end(Vcpu& v, unsigned k, const Marker& end);
// Ends this core's region: closes the open record, if any, then core_end
// with `end`, or without it with the marker of the phase as it is after the
// close (which may itself declare the limit).
void end_region(Vcpu& v, unsigned k, const Marker& end);
void end_region(Vcpu& v, unsigned k);
// Ends every core's open region with the phase's end marker. Only while all
// vCPUs are stopped (QEMU's exclusive work, such as a reset's callback).
void end_every_region();

// The vCPU a callback runs for: QEMU's index k, except in single-threaded
// TCG (see SingleThreadTcg), where running_vcpu_lookup asks QEMU.
unsigned running_vcpu_lookup(unsigned k);
inline unsigned running_vcpu(unsigned k) {
  if (__builtin_expect(!g_plugin->single_thread.on, 1)) return k;
  return running_vcpu_lookup(k);
}
// vCPU k's init callback runs on the calling thread; a second vCPU on the
// same thread means single-threaded TCG.
void note_vcpu_thread(unsigned k);

// Execution callbacks (registered per block by translate.cpp; on_idle by
// main.cpp).
void on_tb_exec(unsigned k, void* tb_info);
void on_tb_skip(unsigned k, void* tb_info);
void on_mem(unsigned k, qemu_plugin_meminfo_t info, uint64_t vaddr, void* insn_ref);
void on_mapping_change(unsigned k, void*);
// Single-threaded TCG: the progress store, as a callback (userdata: index).
void on_progress(unsigned k, void* idx);
void on_idle(qemu_plugin_id_t, unsigned int k);

}  // namespace qemutrace::plugin
