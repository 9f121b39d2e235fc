// The one x86 branch classifier, on an instruction Zydis has already
// decoded: the disassembler (dump, converters) and the plugin (at
// translation time, which must not decode an instruction twice) both use it.
// Private to the project: Zydis types appear in it.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

#include "qemutrace/disasm.h"

namespace qemutrace {

struct X86Branch {
  BranchKind kind = BranchKind::None;
  // Direct branches only (DirectJump, DirectCall, Conditional with a
  // relative immediate): the absolute target.
  bool has_target = false;
  uint64_t target = 0;
};

// pc: the instruction's address (for relative targets).
X86Branch classify_x86_branch(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops,
                              uint64_t pc);

}  // namespace qemutrace
