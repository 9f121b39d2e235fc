// Decoding for the converters, `dump` and `verify`: text, branch kind and the
// registers an instruction reads and writes. x86 from Zydis's operand lists
// (explicit, implicit and hidden operands), never from the text; aarch64
// from Capstone's (text as Capstone prints it, docs/simulator-formats.md).
//
// x86 
// Text is Intel syntax as `objdump -d -Mintel` prints it (objdump's mnemonics,
// string instructions with their operands; docs/simulator-formats.md): lowercase
// mnemonics and registers, `QWORD PTR [base+index*scale+disp]` memory operands
// (size always printed), lowercase hex with a 0x prefix, absolute branch
// targets. Tejas parses exactly this style (its ObjParser tokenizes objdump
// -Mintel output and QEMU's Intel disassembly), so one style serves all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "qemutrace/format.h"

namespace qemutrace {

enum class BranchKind : uint8_t {
  None = 0,       // not a control transfer
  DirectJump,     // jmp rel
  IndirectJump,   // jmp reg / jmp [mem]
  Conditional,    // jcc, jrcxz/jecxz, loop/loope/loopne
  DirectCall,     // call rel
  IndirectCall,   // call reg / call [mem]
  Return,         // ret, ret imm16, retf
  Other,          // writes the IP otherwise: far jmp/call, int, syscall, iret, sysret, ...
};
std::string_view branch_kind_name(BranchKind k);

// Register ids. They are also the ChampSim register ids (docs/simulator-formats.md has
// the full table): sub-registers map to their largest enclosing register
// (al/ax/eax/rax -> 10), ids 3..26 follow Intel Pin's REG enum, which the
// ChampSim tracer writes and from which ChampSim takes 6, 25 and 26.
namespace reg {
inline constexpr uint8_t kRdi = 3, kRsi = 4, kRbp = 5, kRsp = 6, kRbx = 7, kRdx = 8, kRcx = 9,
                         kRax = 10, kR8 = 11;  // r8..r15 = 11..18
inline constexpr uint8_t kCs = 19, kSs = 20, kDs = 21, kEs = 22, kFs = 23, kGs = 24;
inline constexpr uint8_t kFlags = 25, kIp = 26;
// Not an architectural register: the branch target of an indirect jump or
// call through memory addressed without any register other than the IP
// (jmp [rip+x], call [abs]). ChampSim needs some "other" source register to
// tell an indirect branch from a direct one.
inline constexpr uint8_t kIndirectTarget = 27;
inline constexpr uint8_t kVec0 = 32;     // xmm/ymm/zmm n -> 32+n (n < 32)
inline constexpr uint8_t kMask0 = 64;    // k0..k7
inline constexpr uint8_t kX87_0 = 72;    // st0..st7 and mm0..mm7 (aliased)
inline constexpr uint8_t kX87Control = 80, kX87Status = 81, kX87Tag = 82, kMxcsr = 83;
inline constexpr uint8_t kCr0 = 84;      // cr0..cr15 -> 84..99
inline constexpr uint8_t kDr0 = 100;     // dr0..dr15 -> 100..115
inline constexpr uint8_t kGdtr = 116, kIdtr = 117, kLdtr = 118, kTr = 119;
inline constexpr uint8_t kBnd0 = 120;    // bnd0..bnd3 -> 120..123
inline constexpr uint8_t kBndCfg = 124, kBndStatus = 125;
inline constexpr uint8_t kTmm0 = 128;    // tmm0..tmm7 -> 128..135
inline constexpr uint8_t kXcr0 = 140, kPkru = 141, kMsr = 142, kTsc = 143, kTscAux = 144,
                         kSsp = 145, kUif = 146, kOtherSystem = 147;
// aarch64: x0..x30 (and their w views) -> 150..180, v0..v31 (and their b/h/
// s/d/q views) -> 184..215. SP, NZCV and PC share ChampSim's stack pointer,
// flags and IP ids (kRsp, kFlags, kIp); the zero register is no register.
inline constexpr uint8_t kA64X0 = 150, kA64V0 = 184;
}  // namespace reg
// Name of a register id ("rax", "rflags", "xmm3", ...), "" if unused.
std::string_view register_id_name(uint8_t id);

struct DecodedInsn {
  bool valid = false;  // false: the bytes do not decode (text is "(bad)")
  uint8_t length = 0;
  BranchKind branch = BranchKind::None;
  // Direct branches (jmp/jcc/call rel, loop, jrcxz): absolute target.
  bool has_target = false;
  uint64_t target = 0;
  // Indirect jump/call whose target is loaded from memory addressed by no
  // register other than the IP.
  bool indirect_via_memory_only = false;
  // A string instruction (movs, stos, cmps, ...) with a REP/REPE/REPNE prefix.
  bool rep_string = false;
  bool reads_flags = false;
  bool writes_flags = false;
  // Register ids read and written (deduplicated, in operand order; flags and
  // the IP included when accessed). Memory operands' base/index registers
  // count as reads.
  uint8_t read_count = 0;
  uint8_t write_count = 0;
  uint8_t reads[24] = {};
  uint8_t writes[24] = {};
  std::string text;

  bool reads_reg(uint8_t id) const;
  bool writes_reg(uint8_t id) const;
};

// Decodes with a cache keyed by (pc, bytes): a trace repeats its static
// instructions, so each distinct one is decoded and formatted once. Not
// thread-safe; use one per thread (one per converted core).
class Disassembler {
 public:
  explicit Disassembler(Isa isa);
  ~Disassembler();
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  // The reference stays valid until the next decode() call.
  const DecodedInsn& decode(uint64_t pc, const uint8_t* bytes, size_t length);
  Isa isa() const;
  uint64_t cache_hits() const;
  uint64_t cache_misses() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace qemutrace
