// Who the traced instructions belong to (docs/trace-format.md, STATE level):
// the hypervisor, a guest kernel or guest user, and whether a level-2 guest
// runs them. One rule per run (`levels=`). A rule decides in two places:
// block_level at translation (from the block's address and privilege, fixed
// for every execution of the block), and a per-vCPU runtime part
// (GuestContext::runtime_level) for what only execution tells, such as
// being between a VMRUN and its #VMEXIT.
#pragma once

#include <cstdint>
#include <string_view>

namespace qemutrace::plugin {

enum class LevelRule : uint8_t {
  Cpl,  // plain guest: cpl 0 kernel, the rest user (no level in the trace)
  Xen,  // Xen x86_64 PV: ring 0 is Xen; dom0's kernel and user share ring 3
  // A guest that runs its own guest with AMD SVM: kernel and user by cpl,
  // plus level::kNested between a VMRUN and its #VMEXIT (nested.h)
  Nested,
};

bool parse_level_rule(std::string_view name, LevelRule* out);
// The rule records levels in the trace (feature::kLevel).
bool records_levels(LevelRule r);
// The rule follows VMRUN and #VMEXIT at run time (nested.h).
bool follows_nesting(LevelRule r);
// The level:: bits of a block at `vaddr` translated at privilege `cpl`.
uint8_t block_level(LevelRule r, uint64_t vaddr, uint8_t cpl);

}  // namespace qemutrace::plugin
