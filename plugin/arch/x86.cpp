// x86_64 and i386: CPL from CS, address space from CR3, markers and
// instruction classification with Zydis.
#include <Zydis/Zydis.h>

#include <cstring>

#include "arch/arch.h"
#include "disasm/x86_branch.h"
#include "qemutrace.h"  // guest/qemutrace.h: the marker encoding

namespace qemutrace::plugin {
namespace {

// The magic NOP `0F 1F 84 SIB disp32` of guest/qemutrace.h, from that
// header's own definitions: disp32 = signature | id, little-endian.
constexpr uint8_t kStartSib = QEMUTRACE_MARKER_START_SIB;
constexpr uint8_t kStopSib = QEMUTRACE_MARKER_STOP_SIB;
constexpr uint8_t kConfirmSib = QEMUTRACE_MARKER_CONFIRM_SIB;  // qemutrace_legacy_confirm()
constexpr uint32_t kSignature = QEMUTRACE_MARKER_SIGNATURE;
static_assert((kSignature & 0xFFFF) == 0, "the low 16 bits of disp32 carry the id");
constexpr uint8_t kSignatureByte2 = uint8_t(kSignature >> 16);
constexpr uint8_t kSignatureByte3 = uint8_t(kSignature >> 24);
// `int $100` / `int $101` (QEMUTRACE_LEGACY_START_ASM / _STOP_ASM).
constexpr uint8_t kLegacyStartVector = 100, kLegacyStopVector = 101;

class X86Arch final : public Arch {
 public:
  explicit X86Arch(bool is64) : is64_(is64) {
    if (is64)
      ZydisDecoderInit(&dec_, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    else
      ZydisDecoderInit(&dec_, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  }

  Isa isa() const override { return is64_ ? Isa::x86_64 : Isa::i386; }

  ContextRegs regs() const override {
    // The stack pointer and IntConfirm's arguments in the registers
    // qemutrace_legacy_confirm() puts them in.
    return is64_ ? ContextRegs{"cs", "cr3", "cr0", "rsp", "rax", "rdx"}
                 : ContextRegs{"cs", "cr3", "cr0", "esp", "eax", "edx"};
  }

  uint8_t privilege(uint64_t cs, uint64_t cr0) const override {
    // Real mode (CR0.PE clear) runs at privilege 0; in protected and long
    // mode CPL is CS.RPL (QEMU keeps them equal).
    if (!(cr0 & 1)) return 0;
    return static_cast<uint8_t>(cs & 3);
  }

  bool paging(uint64_t cr0) const override { return (cr0 & 1) && (cr0 & (1ull << 31)); }

  uint64_t asid(uint64_t cr3) const override {
    // Bits 0..11 hold PCID/flags; the page-table base identifies the space.
    return cr3 & ~((uint64_t(1) << kPageShift) - 1);
  }

  MarkerMatch match_marker(const uint8_t* b, size_t len) const override {
    MarkerMatch m;
    if (len == 8 && b[0] == 0x0F && b[1] == 0x1F && b[2] == 0x84 &&
        (b[3] == kStartSib || b[3] == kStopSib || b[3] == kConfirmSib) && b[6] == kSignatureByte2 &&
        b[7] == kSignatureByte3) {
      m.type = b[3] == kStartSib  ? MarkerType::NopStart
               : b[3] == kStopSib ? MarkerType::NopStop
                                  : MarkerType::IntConfirm;
      m.id = static_cast<uint16_t>(b[4] | (b[5] << 8));
    } else if (len == 2 && b[0] == 0xCD && (b[1] == kLegacyStartVector || b[1] == kLegacyStopVector)) {
      m.type = b[1] == kLegacyStartVector ? MarkerType::IntStart : MarkerType::IntStop;
    }
    return m;
  }

  bool enters_guest(const uint8_t* b, size_t len) const override {
    // VMRUN is 0F 01 D8; an address-size prefix may precede it.
    return len >= 3 && b[len - 3] == 0x0F && b[len - 2] == 0x01 && b[len - 1] == 0xD8;
  }

  InsnClass classify(uint64_t pc, const uint8_t* bytes, size_t len) const override {
    InsnClass c;
    ZydisDecodedInstruction in;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec_, bytes, len, &in, ops))) {
      c.flow = Flow::Indirect;  // unknown: do not predict the successor
      return c;
    }
    const auto cat = in.meta.category;
    const auto mn = in.mnemonic;
    // Branches as the disassembler classifies them; the plugin only needs
    // to know whether the successor is predictable.
    X86Branch br = classify_x86_branch(in, ops, pc);
    auto direct = [&](Flow f) {
      if (!br.has_target) return Flow::Indirect;
      c.target = is64_ ? br.target : (br.target & 0xFFFFFFFFull);
      return f;
    };
    switch (br.kind) {
      case BranchKind::None: break;
      case BranchKind::Conditional: c.flow = direct(Flow::CondDirect); break;
      case BranchKind::DirectJump:
      case BranchKind::DirectCall: c.flow = direct(Flow::Direct); break;
      case BranchKind::Other:
        // Only transfers filed as branches; other IP writers (software
        // interrupts, system instructions) are matched below.
        if (cat == ZYDIS_CATEGORY_UNCOND_BR || cat == ZYDIS_CATEGORY_CALL || cat == ZYDIS_CATEGORY_RET)
          c.flow = Flow::Indirect;
        break;
      default: c.flow = Flow::Indirect; break;  // indirect jump/call, return
    }
    // Not the SYSTEM category as a whole: it holds RDTSC, CPUID, RDMSR and
    // the like, which fall through; an interrupt after one of them must be
    // seen as a discontinuity. Its IP writers are in the list below.
    switch (cat) {
      case ZYDIS_CATEGORY_SYSCALL:
      case ZYDIS_CATEGORY_SYSRET:
      case ZYDIS_CATEGORY_INTERRUPT:
        c.flow = Flow::Indirect;
        break;
      default:
        break;
    }
    if (mn == ZYDIS_MNEMONIC_IRET || mn == ZYDIS_MNEMONIC_IRETD || mn == ZYDIS_MNEMONIC_IRETQ ||
        mn == ZYDIS_MNEMONIC_SYSENTER || mn == ZYDIS_MNEMONIC_SYSEXIT ||
        mn == ZYDIS_MNEMONIC_SYSCALL || mn == ZYDIS_MNEMONIC_SYSRET ||
        mn == ZYDIS_MNEMONIC_UD0 || mn == ZYDIS_MNEMONIC_UD1 || mn == ZYDIS_MNEMONIC_UD2 ||
        mn == ZYDIS_MNEMONIC_VMCALL || mn == ZYDIS_MNEMONIC_VMMCALL || mn == ZYDIS_MNEMONIC_RSM ||
        mn == ZYDIS_MNEMONIC_VMRUN)
      c.flow = Flow::Indirect;
    // HLT and the like fall through: an interrupt that follows is a
    // discontinuity.
    if (mn == ZYDIS_MNEMONIC_HLT) c.flow = Flow::Next;

    if (mn == ZYDIS_MNEMONIC_MOV && in.operand_count_visible >= 1 &&
        ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == ZYDIS_REGISTER_CR3)
      c.writes_asid = true;

    const bool rep = (in.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
                                       ZYDIS_ATTRIB_HAS_REPNE)) != 0;
    if (rep && cat == ZYDIS_CATEGORY_STRINGOP) c.is_rep_string = true;

    // Memory expectation: only for plain data instructions and near
    // call/ret/push/pop, whose accesses are TCG loads/stores that always
    // happen when the instruction completes.
    bool excluded = c.is_rep_string || mn == ZYDIS_MNEMONIC_LEA || mn == ZYDIS_MNEMONIC_NOP ||
                    cat == ZYDIS_CATEGORY_NOP || cat == ZYDIS_CATEGORY_WIDENOP ||
                    mn == ZYDIS_MNEMONIC_PREFETCH || mn == ZYDIS_MNEMONIC_PREFETCHNTA ||
                    mn == ZYDIS_MNEMONIC_PREFETCHT0 || mn == ZYDIS_MNEMONIC_PREFETCHT1 ||
                    mn == ZYDIS_MNEMONIC_PREFETCHT2 || mn == ZYDIS_MNEMONIC_PREFETCHW ||
                    mn == ZYDIS_MNEMONIC_CLFLUSH || mn == ZYDIS_MNEMONIC_CLFLUSHOPT ||
                    mn == ZYDIS_MNEMONIC_CLWB || mn == ZYDIS_MNEMONIC_INVLPG ||
                    mn == ZYDIS_MNEMONIC_INVLPGA || mn == ZYDIS_MNEMONIC_INVPCID ||
                    in.avx.mask.reg != ZYDIS_REGISTER_NONE ||
                    mn == ZYDIS_MNEMONIC_VMASKMOVPS || mn == ZYDIS_MNEMONIC_VMASKMOVPD ||
                    mn == ZYDIS_MNEMONIC_VPMASKMOVD || mn == ZYDIS_MNEMONIC_VPMASKMOVQ ||
                    mn == ZYDIS_MNEMONIC_MASKMOVQ || mn == ZYDIS_MNEMONIC_MASKMOVDQU ||
                    cat == ZYDIS_CATEGORY_SYSTEM || cat == ZYDIS_CATEGORY_INTERRUPT ||
                    cat == ZYDIS_CATEGORY_SYSCALL || cat == ZYDIS_CATEGORY_SYSRET ||
                    cat == ZYDIS_CATEGORY_IO || cat == ZYDIS_CATEGORY_IOSTRINGOP ||
                    cat == ZYDIS_CATEGORY_SEGOP ||  mn == ZYDIS_MNEMONIC_BOUND ||
                    (c.flow == Flow::Indirect && cat != ZYDIS_CATEGORY_RET &&
                     cat != ZYDIS_CATEGORY_CALL);
    if (!excluded) {
      for (unsigned i = 0; i < in.operand_count; ++i) {
        if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
          c.must_access_memory = true;
          break;
        }
      }
      // Far returns/calls go through helpers; keep them out.
      if (in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) c.must_access_memory = false;
    }
    c.may_stop_block = !cannot_stop_block(in, ops, c);
    c.changes_translation = changes_translation(in, ops, c);
    return c;
  }

 private:
  // Everything that can flush or switch this core's TLB in QEMU's x86 model:
  // system instructions (MOV CRn, INVLPG, INVPCID, WRMSR, LMSW, CLTS, RSM,
  // ...), virtualization and protection-key instructions, XRSTOR (PKRU),
  // far transfers and IRET (task switches).
  static bool changes_translation(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops,
                                  const InsnClass& c) {
    if (c.writes_asid) return true;
    switch (in.meta.category) {
      case ZYDIS_CATEGORY_SYSTEM:
      case ZYDIS_CATEGORY_VTX:
      case ZYDIS_CATEGORY_SGX:
      case ZYDIS_CATEGORY_PKU:
      case ZYDIS_CATEGORY_XSAVE:
      case ZYDIS_CATEGORY_PCONFIG:
        return true;
      default:
        break;
    }
    switch (in.mnemonic) {
      case ZYDIS_MNEMONIC_IRET:
      case ZYDIS_MNEMONIC_IRETD:
      case ZYDIS_MNEMONIC_IRETQ:
      case ZYDIS_MNEMONIC_RSM:
      case ZYDIS_MNEMONIC_INVLPG:
      case ZYDIS_MNEMONIC_INVLPGA:
      case ZYDIS_MNEMONIC_INVLPGB:
      case ZYDIS_MNEMONIC_INVPCID:
      case ZYDIS_MNEMONIC_WRMSR:
      case ZYDIS_MNEMONIC_LMSW:
      case ZYDIS_MNEMONIC_VMRUN:
        return true;
      default:
        break;
    }
    if (in.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) return true;
    for (unsigned i = 0; i < in.operand_count; ++i)
      if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
          ZydisRegisterGetClass(ops[i].reg.value) == ZYDIS_REGCLASS_CONTROL)
        return true;
    return false;
  }

  // Integer register-only instructions that raise no exception in any mode:
  // no memory operand, no LOCK, no segment/control/debug registers, no
  // divide, nothing privileged or IOPL-checked, no x87/SSE/AVX (#NM while
  // CR0.TS is set). Everything else is assumed able to stop the block.
  static bool cannot_stop_block(const ZydisDecodedInstruction& in, const ZydisDecodedOperand* ops,
                                const InsnClass& c) {
    if (in.attributes & ZYDIS_ATTRIB_HAS_LOCK) return false;
    switch (in.meta.category) {
      case ZYDIS_CATEGORY_BINARY:
      case ZYDIS_CATEGORY_LOGICAL:
      case ZYDIS_CATEGORY_SHIFT:
      case ZYDIS_CATEGORY_ROTATE:
      case ZYDIS_CATEGORY_BITBYTE:
      case ZYDIS_CATEGORY_CMOV:
      case ZYDIS_CATEGORY_SETCC:
      case ZYDIS_CATEGORY_DATAXFER:
      case ZYDIS_CATEGORY_CONVERT:
      case ZYDIS_CATEGORY_NOP:
      case ZYDIS_CATEGORY_WIDENOP:
        break;
      case ZYDIS_CATEGORY_COND_BR:
      case ZYDIS_CATEGORY_UNCOND_BR:
        if (c.flow == Flow::Indirect) return false;  // register/memory target
        break;
      default:
        if (in.mnemonic != ZYDIS_MNEMONIC_LEA) return false;  // LEA is "misc"
        break;
    }
    switch (in.mnemonic) {
      case ZYDIS_MNEMONIC_DIV:
      case ZYDIS_MNEMONIC_IDIV:
      case ZYDIS_MNEMONIC_AAM:  // divides by its immediate
      case ZYDIS_MNEMONIC_BOUND:
      case ZYDIS_MNEMONIC_XLAT:
        return false;
      default:
        break;
    }
    if (in.machine_mode != ZYDIS_MACHINE_MODE_LONG_64 && c.flow != Flow::Next) return false;
    for (unsigned i = 0; i < in.operand_count; ++i) {
      const ZydisDecodedOperand& o = ops[i];
      if (o.type == ZYDIS_OPERAND_TYPE_MEMORY && o.mem.type != ZYDIS_MEMOP_TYPE_AGEN) return false;
      if (o.type == ZYDIS_OPERAND_TYPE_REGISTER) {
        ZydisRegisterClass rc = ZydisRegisterGetClass(o.reg.value);
        if (rc != ZYDIS_REGCLASS_GPR8 && rc != ZYDIS_REGCLASS_GPR16 && rc != ZYDIS_REGCLASS_GPR32 &&
            rc != ZYDIS_REGCLASS_GPR64 && rc != ZYDIS_REGCLASS_FLAGS && rc != ZYDIS_REGCLASS_IP)
          return false;
      }
    }
    return true;
  }

  bool is64_;
  ZydisDecoder dec_;
};

}  // namespace

std::unique_ptr<Arch> make_x86_arch(bool is64) { return std::make_unique<X86Arch>(is64); }

}  // namespace qemutrace::plugin
