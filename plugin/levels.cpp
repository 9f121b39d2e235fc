#include "levels.h"

#include "qemutrace/format.h"

namespace qemutrace::plugin {

bool parse_level_rule(std::string_view name, LevelRule* out) {
  if (name == "cpl") *out = LevelRule::Cpl;
  else if (name == "xen") *out = LevelRule::Xen;
  else if (name == "nested") *out = LevelRule::Nested;
  else return false;
  return true;
}

bool records_levels(LevelRule r) { return r != LevelRule::Cpl; }

bool follows_nesting(LevelRule r) { return r == LevelRule::Nested; }

uint8_t block_level(LevelRule r, uint64_t vaddr, uint8_t cpl) {
  switch (r) {
    case LevelRule::Cpl:
    case LevelRule::Nested:  // level 2's bit is runtime_level's
      break;
    case LevelRule::Xen:
      // A 64-bit PV guest never runs at ring 0: ring 0 is Xen (its own
      // range, 0xffff800000000000..0xffff87ffffffffff). The guest kernel runs
      // at ring 3 in the upper half, its processes in the lower half (Linux
      // PV has no executable vsyscall page there).
      if (cpl == 0) return level::kHypervisor;
      return (vaddr >> 63) ? level::kKernel : level::kUser;
  }
  return level::of_cpl(cpl);
}

}  // namespace qemutrace::plugin
