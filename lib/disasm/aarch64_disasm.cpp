#include "disasm/aarch64_disasm.h"

#include <capstone/capstone.h>

#include <cstdio>

#include "disasm/aarch64_branch.h"

namespace qemutrace {
namespace {

// Capstone's register to our id (disasm.h: reg::kA64*): every view of a
// general register (wN, xN) is xN, every view of a vector register (bN, hN,
// sN, dN, qN, vN) is vN; the zero register is no register at all.
uint8_t map_register(unsigned r) {
  if (r == ARM64_REG_INVALID || r == ARM64_REG_XZR || r == ARM64_REG_WZR) return 0;
  if (r == ARM64_REG_SP || r == ARM64_REG_WSP) return reg::kRsp;
  if (r == ARM64_REG_NZCV) return reg::kFlags;
  if (r == ARM64_REG_X29) return reg::kA64X0 + 29;
  if (r == ARM64_REG_X30) return reg::kA64X0 + 30;
  if (r >= ARM64_REG_X0 && r <= ARM64_REG_X28) return static_cast<uint8_t>(reg::kA64X0 + (r - ARM64_REG_X0));
  if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30) return static_cast<uint8_t>(reg::kA64X0 + (r - ARM64_REG_W0));
  for (unsigned first : {ARM64_REG_B0, ARM64_REG_H0, ARM64_REG_S0, ARM64_REG_D0, ARM64_REG_Q0, ARM64_REG_V0})
    if (r >= first && r < first + 32) return static_cast<uint8_t>(reg::kA64V0 + (r - first));
  return reg::kOtherSystem;
}

void add_id(uint8_t* list, uint8_t* count, uint8_t id) {
  if (id == 0) return;
  for (uint8_t i = 0; i < *count; ++i)
    if (list[i] == id) return;
  if (*count < sizeof(DecodedInsn::reads)) list[(*count)++] = id;
}

// Register lists taken from the encoding where Capstone 4's access tables
// are wrong: it has MOVZ/MOVN read their destination, MSR write and MRS
// read their general register, MSR #imm write NZCV and SVC write x30.
// True if the word is one of those (out's lists are then complete).
bool registers_from_encoding(uint32_t w, DecodedInsn* out) {
  const uint8_t rt = w & 31;
  const uint8_t xt = rt == 31 ? 0 : static_cast<uint8_t>(reg::kA64X0 + rt);  // 31: xzr
  if ((w & 0x1F800000) == 0x12800000) {  // MOVN/MOVZ/MOVK: only MOVK keeps bits of Rd
    add_id(out->writes, &out->write_count, xt);
    if (((w >> 29) & 3) == 3) add_id(out->reads, &out->read_count, xt);
    return true;
  }
  if ((w & 0xFFC00000) == 0xD5000000) {  // system: hints, barriers, MSR, SYS, MRS, SYSL
    const bool read_form = (w >> 21) & 1;  // MRS, SYSL
    const bool pstate_or_hint = ((w >> 19) & 3) == 0;
    if (pstate_or_hint) return true;  // MSR #imm, hints, barriers: no general register
    if (read_form) add_id(out->writes, &out->write_count, xt);
    else add_id(out->reads, &out->read_count, xt);
    return true;
  }
  if ((w & 0xFF000000) == 0xD4000000) return true;  // SVC/HVC/SMC/BRK/HLT: none
  return false;
}

}  // namespace

struct A64Decoder::Impl {
  csh handle = 0;
  bool ok = false;
  cs_insn* insn = nullptr;
};

A64Decoder::A64Decoder() : impl_(std::make_unique<Impl>()) {
  if (cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &impl_->handle) != CS_ERR_OK) return;
  cs_option(impl_->handle, CS_OPT_DETAIL, CS_OPT_ON);
  impl_->insn = cs_malloc(impl_->handle);
  impl_->ok = impl_->insn != nullptr;
}

A64Decoder::~A64Decoder() {
  if (impl_->insn) cs_free(impl_->insn, 1);
  if (impl_->handle) cs_close(&impl_->handle);
}

void A64Decoder::decode(uint64_t pc, const uint8_t* bytes, size_t length, DecodedInsn* out) {
  *out = DecodedInsn{};
  out->length = static_cast<uint8_t>(length);
  if (length != 4) {
    out->text = "(bad)";
    return;
  }
  // Every word has a branch class (aarch64_branch.h knows them all), so it
  // counts as decoded even where Capstone 4 (ARMv8.0: no LSE atomics,
  // pointer authentication, RCpc, MTE, SVE) has no text for it: then the
  // text is objdump's ".inst 0x<word>" and no registers are listed.
  out->valid = true;
  const uint32_t word = aarch64_word(bytes);
  const A64Branch br = classify_aarch64_branch(word, pc);
  out->branch = br.kind;
  out->has_target = br.has_target;
  out->target = br.target;
  const uint8_t* code = bytes;
  size_t size = length;
  uint64_t address = pc;
  if (!impl_->ok || !cs_disasm_iter(impl_->handle, &code, &size, &address, impl_->insn)) {
    char text[24];
    std::snprintf(text, sizeof text, ".inst 0x%08x", word);
    out->text = text;
    return;
  }
  const cs_insn& in = *impl_->insn;
  out->text = in.mnemonic;
  if (in.op_str[0]) {
    out->text.push_back(' ');
    out->text += in.op_str;
  }

  if (registers_from_encoding(word, out)) return;
  cs_regs rd, wr;
  uint8_t nr = 0, nw = 0;
  if (cs_regs_access(impl_->handle, &in, rd, &nr, wr, &nw) == CS_ERR_OK) {
    for (uint8_t i = 0; i < nr; ++i) add_id(out->reads, &out->read_count, map_register(rd[i]));
    for (uint8_t i = 0; i < nw; ++i) add_id(out->writes, &out->write_count, map_register(wr[i]));
  }
  // Address registers are read, and written back by pre/post-indexed forms.
  const cs_arm64& a = in.detail->arm64;
  for (uint8_t i = 0; i < a.op_count; ++i) {
    if (a.operands[i].type != ARM64_OP_MEM) continue;
    add_id(out->reads, &out->read_count, map_register(a.operands[i].mem.base));
    add_id(out->reads, &out->read_count, map_register(a.operands[i].mem.index));
    if (a.writeback) add_id(out->writes, &out->write_count, map_register(a.operands[i].mem.base));
  }
  if (a.update_flags) add_id(out->writes, &out->write_count, reg::kFlags);
  out->reads_flags = out->reads_reg(reg::kFlags);
  out->writes_flags = out->writes_reg(reg::kFlags);
}

}  // namespace qemutrace
