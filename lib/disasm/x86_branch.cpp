#include "disasm/x86_branch.h"

namespace qemutrace {

X86Branch classify_x86_branch(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops,
                              uint64_t pc) {
  X86Branch b;
  bool writes_ip = false, has_rel_imm = false, has_pointer = false;
  for (uint8_t i = 0; i < in.operand_count; ++i) {
    const ZydisDecodedOperand& o = ops[i];
    if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) {
      if (ZydisRegisterGetClass(o.reg.value) == ZYDIS_REGCLASS_IP &&
          (o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
        writes_ip = true;
    } else if (o.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && o.imm.is_relative) {
      has_rel_imm = true;
      ZyanU64 abs = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &o, pc, &abs))) {
        b.has_target = true;
        b.target = abs;
      }
    } else if (o.type == ZYDIS_OPERAND_TYPE_POINTER) {
      has_pointer = true;
    }
  }
  const bool far = in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR || has_pointer;
  switch (in.meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
      b.kind = BranchKind::Conditional;
      break;
    case ZYDIS_CATEGORY_UNCOND_BR:
      if (far) b.kind = BranchKind::Other;
      else if (has_rel_imm) b.kind = BranchKind::DirectJump;
      else b.kind = BranchKind::IndirectJump;
      break;
    case ZYDIS_CATEGORY_CALL:
      if (far) b.kind = BranchKind::Other;
      else if (has_rel_imm) b.kind = BranchKind::DirectCall;
      else b.kind = BranchKind::IndirectCall;
      break;
    case ZYDIS_CATEGORY_RET:
      if (in.mnemonic == ZYDIS_MNEMONIC_RET) b.kind = BranchKind::Return;
      else b.kind = BranchKind::Other;  // iret*, and anything else filed as RET
      break;
    default:
      // Entering a guest (VMRUN) or calling the hypervisor (VMCALL,
      // VMMCALL) hands the core to other code, though no operand says so.
      if (writes_ip || in.mnemonic == ZYDIS_MNEMONIC_VMRUN || in.mnemonic == ZYDIS_MNEMONIC_VMCALL ||
          in.mnemonic == ZYDIS_MNEMONIC_VMMCALL)
        b.kind = BranchKind::Other;
      break;
  }
  if (b.kind != BranchKind::DirectJump && b.kind != BranchKind::DirectCall &&
      b.kind != BranchKind::Conditional) {
    b.has_target = false;
    b.target = 0;
  }
  return b;
}

}  // namespace qemutrace
