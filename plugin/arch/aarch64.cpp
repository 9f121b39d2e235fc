// aarch64: exception level from PSTATE, address space from TTBR0_EL1,
// markers and instruction classification from the instruction word's
// encoding classes (Arm Architecture Reference Manual, "A64 Instruction Set
// Encoding"). A table of masks, not a disassembler: the plugin classifies
// every instruction it translates, and a few compares per word cost nothing
// next to a full decode; branches come from lib/disasm/aarch64_branch.h,
// which the disassembler shares.
#include "arch/arch.h"
#include "disasm/aarch64_branch.h"
#include "qemutrace.h"  // guest/qemutrace.h: the marker encoding

namespace qemutrace::plugin {
namespace {

constexpr uint32_t kMarkerIdMask = 0xFFFFu << QEMUTRACE_A64_MARKER_ID_SHIFT;
constexpr uint32_t kNop = 0xD503201F;

constexpr unsigned bits(uint32_t w, unsigned hi, unsigned lo) { return (w >> lo) & ((1u << (hi - lo + 1)) - 1); }
constexpr bool bit(uint32_t w, unsigned b) { return (w >> b) & 1; }

// PRFM/PRFUM: size 11, V 0, opc 10 in the register load/store classes.
bool is_prefetch(uint32_t w) { return (w & 0xC4C00000) == 0xC0800000; }

// Retiring always means at least one data access that QEMU reports to
// plugins. False for what may complete without one: store-exclusives
// (they fail without storing), prefetches, memory-tag instructions, cache
// maintenance, SVE/SME predicated accesses, memory copy/set.
bool must_access_memory(uint32_t w) {
  if ((w & 0x0A000000) != 0x08000000) return false;  // not a load/store
  if ((w & 0xBF000000) == 0x0C000000 || (w & 0xBF000000) == 0x0D000000)
    return true;  // SIMD LD1..LD4/ST1..ST4, multiple and single structures
  if ((w & 0x3F000000) == 0x08000000) {  // exclusive, ordered, compare-and-swap
    const bool o2 = bit(w, 23), load = bit(w, 22), o1 = bit(w, 21);
    if (o2) return true;                  // LDAR/STLR/LDLAR/STLLR, CAS
    if (o1 && !bit(w, 31)) return true;   // CASP
    return load;                          // LDXR/LDXP yes, STXR/STXP no
  }
  if ((w & 0x3F200C00) == 0x19000000) return true;  // LDAPUR/STLUR
  if ((w & 0x3B000000) == 0x18000000)                // load literal
    return !(bits(w, 31, 30) == 3 && !bit(w, 26));   // PRFM (literal)
  if ((w & 0x3A000000) == 0x28000000) return true;   // LDP/STP/LDNP/STNP/LDPSW/STGP
  if ((w & 0x3B000000) == 0x39000000) return !is_prefetch(w);  // unsigned offset
  if ((w & 0x3B000000) == 0x38000000) {
    if (bit(w, 21) && bits(w, 11, 10) == 0) return true;  // LDADD/SWP/LDAPR/...: A,R are bits 23:22
    return !is_prefetch(w);  // unscaled, pre/post-indexed, unprivileged, register offset, LDRAA/LDRAB
  }
  return false;
}

// Integer register arithmetic in valid encodings, NOP and direct branches:
// nothing that can raise an exception (AArch64 division by zero does not).
// Unallocated encodings inside these classes are UNDEFINED, so they are
// checked field by field.
bool cannot_stop_block(uint32_t w) {
  const bool sf = bit(w, 31);
  if (w == kNop) return true;
  if ((w & 0x7C000000) == 0x14000000) return true;  // B, BL
  if ((w & 0xFF000010) == 0x54000000) return true;  // B.cond
  if ((w & 0x7C000000) == 0x34000000) return true;  // CBZ/CBNZ/TBZ/TBNZ
  // Data processing, immediate.
  if ((w & 0x1F000000) == 0x10000000) return true;  // ADR, ADRP
  if ((w & 0x1F800000) == 0x11000000) return true;  // ADD/SUB(S) immediate
  if ((w & 0x1F800000) == 0x12000000) return sf || !bit(w, 22);  // logical immediate
  if ((w & 0x1F800000) == 0x12800000)                             // MOVN/MOVZ/MOVK
    return bits(w, 30, 29) != 1 && (sf || bits(w, 22, 21) < 2);
  if ((w & 0x1F800000) == 0x13000000)  // SBFM/BFM/UBFM
    return bits(w, 30, 29) != 3 && bit(w, 22) == sf && (sf || (bits(w, 21, 16) < 32 && bits(w, 15, 10) < 32));
  if ((w & 0x1F800000) == 0x13800000)  // EXTR
    return bits(w, 30, 29) == 0 && bit(w, 22) == sf && !bit(w, 21) && (sf || bits(w, 15, 10) < 32);
  // Data processing, register.
  if ((w & 0x1F000000) == 0x0A000000) return sf || bits(w, 15, 10) < 32;  // logical, shifted
  if ((w & 0x1F200000) == 0x0B000000)                                      // ADD/SUB shifted
    return bits(w, 23, 22) != 3 && (sf || bits(w, 15, 10) < 32);
  if ((w & 0x1F200000) == 0x0B200000) return bits(w, 23, 22) == 0 && bits(w, 12, 10) <= 4;  // extended
  if ((w & 0x1FE0FC00) == 0x1A000000) return true;  // ADC/SBC(S)
  if ((w & 0x1FE00000) == 0x1A400000) return bit(w, 29) && !bit(w, 10) && !bit(w, 4);  // CCMP/CCMN
  if ((w & 0x1FE00000) == 0x1A800000) return !bit(w, 29) && !bit(w, 11);                // CSEL/CSINC/...
  if ((w & 0x5FE00000) == 0x1AC00000) {  // two sources: UDIV/SDIV and variable shifts only
    const unsigned op = bits(w, 15, 10);
    return op == 2 || op == 3 || (op >= 8 && op <= 11);
  }
  if ((w & 0x5FFF0000) == 0x5AC00000) {  // one source: RBIT, REV16, REV32/REV, REV, CLZ, CLS
    const unsigned op = bits(w, 15, 10);
    return op <= 5 && (op != 3 || sf);
  }
  if ((w & 0x7F000000) == 0x1B000000) {  // three sources (either sf)
    const unsigned op31 = bits(w, 23, 21);
    if (op31 == 0) return true;                                          // MADD/MSUB
    if (sf && (op31 == 1 || op31 == 5)) return true;                     // SMADDL/UMADDL/...
    if (sf && (op31 == 2 || op31 == 6) && !bit(w, 15)) return true;      // SMULH/UMULH
  }
  return false;
}

// MSR to TTBR0_EL1 or TTBR1_EL1 (op0 3, op1 0, CRn 2, CRm 0, op2 0/1).
bool writes_ttbr(uint32_t w) { return (w & 0xFFFFFFC0) == 0xD5182000 && bits(w, 7, 5) <= 1; }

// May change how this core maps virtual to physical addresses: writes to
// the translation-control system registers of EL1 and up (CRn 1: SCTLR,
// CPACR, HCR; 2: TTBRn, TCR, VTTBR; 3: DACR; 10: MAIR/AMAIR), PAN and UAO,
// TLB maintenance, and exception returns and calls into EL2/EL3 (another
// translation regime). EL0-accessible registers (op1 3: TPIDR_EL0, NZCV,
// FPCR, ...) and the per-exception ones (SP_EL0, ELR, SPSR) are left out:
// the kernel writes them on every exception.
bool changes_translation(uint32_t w) {
  const unsigned op1 = bits(w, 18, 16), crn = bits(w, 15, 12), crm = bits(w, 11, 8), op2 = bits(w, 7, 5);
  if ((w & 0xFFF00000) == 0xD5100000) {  // MSR (register); op0 2 (debug) or 3
    if (bits(w, 20, 19) != 3 || op1 == 3) return false;
    return crn == 1 || crn == 2 || crn == 3 || crn == 10 || (crn == 4 && crm == 2 && (op2 == 3 || op2 == 4));
  }
  if ((w & 0xFFF8F01F) == 0xD500401F) return op1 == 0 && (op2 == 3 || op2 == 4);  // MSR PAN/UAO, #imm
  if ((w & 0xFFF80000) == 0xD5080000) return crn == 8 || crn == 9;                 // SYS: TLBI
  if ((w & 0xFFF80000) == 0xD5480000) return true;                                 // SYSP: TLBIP
  if ((w & 0xFFDFF000) == 0xD69F0000) return true;                                 // ERET(AA/AB), DRPS
  if ((w & 0xFFE0001C) == 0xD4000000 && bits(w, 1, 0) >= 2) return true;           // HVC, SMC
  return false;
}

class A64Arch final : public Arch {
 public:
  Isa isa() const override { return Isa::aarch64; }

  ContextRegs regs() const override {
    // QEMU 10's gdb names: PSTATE is "cpsr", SCTLR_EL1 is "SCTLR". No
    // legacy markers on aarch64, so no argument registers.
    return ContextRegs{"cpsr", "TTBR0_EL1", "SCTLR", "sp", nullptr, nullptr};
  }

  uint8_t privilege(uint64_t pstate, uint64_t) const override {
    // The trace's cpl is 0 for kernel, 3 for user (is_kernel: cpl 0), so
    // EL0 -> 3 and EL1..EL3 -> 0. AArch64 state: EL in M[3:2]; AArch32
    // state (M[4] set): User mode is M[3:0] = 0.
    if (pstate & 0x10) return (pstate & 0xF) == 0 ? 3 : 0;
    return ((pstate >> 2) & 3) == 0 ? 3 : 0;
  }

  bool paging(uint64_t sctlr) const override { return sctlr & 1; }  // SCTLR_EL1.M

  uint64_t asid(uint64_t ttbr0) const override {
    // The page-table base (bits 47:1), as CR3's on x86: one per process,
    // unlike the 16-bit ASID in bits 63:48, which Linux keeps in TTBR1
    // (TCR_EL1.A1 set) and reassigns on rollover. CnP (bit 0) is a hint.
    return ttbr0 & 0x0000FFFFFFFFFFFEull;
  }

  MarkerMatch match_marker(const uint8_t* b, size_t len) const override {
    MarkerMatch m;
    if (len != 4) return m;
    const uint32_t w = aarch64_word(b);
    const uint32_t base = w & ~kMarkerIdMask;
    if (base == QEMUTRACE_A64_MARKER_START) m.type = MarkerType::NopStart;
    else if (base == QEMUTRACE_A64_MARKER_STOP) m.type = MarkerType::NopStop;
    else return m;
    m.id = static_cast<uint16_t>((w & kMarkerIdMask) >> QEMUTRACE_A64_MARKER_ID_SHIFT);
    return m;
  }

  InsnClass classify(uint64_t pc, const uint8_t* bytes, size_t len) const override {
    InsnClass c;
    if (len != 4) {
      c.flow = Flow::Indirect;  // not an A64 instruction: do not predict
      return c;
    }
    const uint32_t w = aarch64_word(bytes);
    const A64Branch br = classify_aarch64_branch(w, pc);
    switch (br.kind) {
      case BranchKind::None: break;
      case BranchKind::DirectJump:
      case BranchKind::DirectCall:
        c.flow = Flow::Direct;
        c.target = br.target;
        break;
      case BranchKind::Conditional:
        c.flow = Flow::CondDirect;
        c.target = br.target;
        break;
      default: c.flow = Flow::Indirect; break;  // BR/BLR/RET, ERET, SVC/HVC/SMC/BRK, UDF
    }
    c.writes_asid = writes_ttbr(w);
    c.must_access_memory = must_access_memory(w);
    c.may_stop_block = !cannot_stop_block(w);
    c.changes_translation = changes_translation(w);
    return c;
  }
};

}  // namespace

std::unique_ptr<Arch> make_aarch64_arch() { return std::make_unique<A64Arch>(); }

}  // namespace qemutrace::plugin
