// Level 2 under the `levels=nested` rule (levels.h): whether the
// instructions running on a core are the guest's own (level 1: its kernel
// and user) or those of a guest it runs itself with AMD SVM (level 2, the
// level::kNested bit of GuestContext::runtime_level). docs/guide.md,
// "Hypervisors", gives the rule and its limits:
//   - executing VMRUN enters level 2 on this core. #VMEXIT returns to the
//     instruction after the VMRUN (the host state VMRUN saved), so that
//     fall-through address is the VMRUN's exit point;
//   - level 2 lasts until a block starts at the exit point, at privilege 0,
//     in the address space (CR3) that executed the VMRUN. That block is the
//     VM exit; the STATE record written before it drops the nested level.
// Level 2's address space id is its own CR3 (a level-2 physical address)
// with kNestedAsidBit set, so that it never equals a level-1 CR3.
#pragma once

#include <cstddef>
#include <cstdint>

struct qemu_plugin_tb;  // qemu-plugin.h (core.h includes it)

namespace qemutrace::plugin {

struct TbInfo;
struct Vcpu;

constexpr uint64_t kNestedAsidBit = uint64_t(1) << 63;

// One core's way back to level 1 (owned by nested.cpp; whether level 2
// runs is GuestContext::runtime_level's level::kNested).
struct NestState {
  uint64_t exit_pc = 0;    // the last VMRUN's fall-through
  uint64_t host_asid = 0;  // level 1's address space at that VMRUN
};

// Translation (all phases but dead): whether the block needs level
// callbacks: it ends with a VMRUN, or it starts at a known exit point.
// None unless the level rule follows nesting.
struct NestSites {
  bool entry = false;  // last instruction enters a guest
  bool exit = false;   // block starts at an exit point
  bool any() const { return entry || exit; }
};
NestSites find_nest_sites(const TbInfo& ti, const uint8_t* last_insn, size_t last_len);
// Registers them. Call before the block's other execution callbacks, so
// that the exit callback runs before on_tb_exec opens a record.
void instrument_nesting(qemu_plugin_tb* tb, TbInfo* ti, const NestSites& s);

// The address space id of what runs now.
uint64_t current_asid(const Vcpu& v, uint64_t cr3_asid);

}  // namespace qemutrace::plugin
