#include "disasm/aarch64_branch.h"

namespace qemutrace {
namespace {

// imm (bits wide) as a signed word offset from pc.
uint64_t relative(uint64_t pc, uint32_t imm, unsigned bits) {
  int64_t off = static_cast<int64_t>(uint64_t(imm) << (64 - bits)) >> (64 - bits);
  return pc + static_cast<uint64_t>(off * 4);
}

A64Branch direct(BranchKind k, uint64_t target) { return A64Branch{k, true, target}; }

}  // namespace

A64Branch classify_aarch64_branch(uint32_t w, uint64_t pc) {
  if ((w & 0x7C000000) == 0x14000000)  // B / BL imm26
    return direct(w >> 31 ? BranchKind::DirectCall : BranchKind::DirectJump, relative(pc, w & 0x03FFFFFF, 26));
  if ((w & 0xFF000000) == 0x54000000)  // B.cond / BC.cond imm19 (AL and NV included)
    return direct(BranchKind::Conditional, relative(pc, (w >> 5) & 0x7FFFF, 19));
  if ((w & 0x7E000000) == 0x34000000)  // CBZ / CBNZ imm19
    return direct(BranchKind::Conditional, relative(pc, (w >> 5) & 0x7FFFF, 19));
  if ((w & 0x7E000000) == 0x36000000)  // TBZ / TBNZ imm14
    return direct(BranchKind::Conditional, relative(pc, (w >> 5) & 0x3FFF, 14));
  if ((w & 0xFE1F0000) == 0xD61F0000) {  // unconditional branch (register), op2 = 11111
    switch ((w >> 21) & 0xF) {           // opc
      case 0x0: case 0x8: return {BranchKind::IndirectJump};  // BR, BRAA/BRAB(Z)
      case 0x1: case 0x9: return {BranchKind::IndirectCall};  // BLR, BLRAA/BLRAB(Z)
      case 0x2: return {BranchKind::Return};                   // RET, RETAA/RETAB
      case 0x4: case 0x5: return {BranchKind::Other};          // ERET(AA/AB), DRPS
      default: return {BranchKind::Other};                     // unallocated: raises UNDEF
    }
  }
  if ((w & 0xFF000000) == 0xD4000000)  // SVC, HVC, SMC, BRK, HLT, DCPSn
    return {BranchKind::Other};
  if ((w & 0xFFFF0000) == 0)  // UDF #imm16: always UNDEFINED
    return {BranchKind::Other};
  return {};
}

}  // namespace qemutrace
