// Decoding real x86 bytes: text style, branch kinds, targets, registers.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "qemutrace/disasm.h"

namespace qemutrace {
namespace {

struct Case {
  uint64_t pc;
  std::vector<uint8_t> bytes;
  const char* text;
  BranchKind kind;
  uint64_t target;  // 0: none
};

TEST(Disasm, TextKindAndTarget64) {
  const Case cases[] = {
      {0x401000, {0x48, 0x89, 0xc3}, "mov rbx, rax", BranchKind::None, 0},
      {0x401003, {0x48, 0x8b, 0x44, 0x24, 0x08}, "mov rax, QWORD PTR [rsp+0x8]", BranchKind::None, 0},
      // call rel32: target = pc + 5 + 0xf3
      {0x401008, {0xe8, 0xf3, 0x00, 0x00, 0x00}, "call 0x401100", BranchKind::DirectCall, 0x401100},
      {0x401100, {0xff, 0xd0}, "call rax", BranchKind::IndirectCall, 0},
      {0x402000, {0xc3}, "ret", BranchKind::Return, 0},
      {0x402001, {0xc2, 0x08, 0x00}, "ret 0x8", BranchKind::Return, 0},
      // jnz rel8 (objdump: jne): target = pc + 2 + 5
      {0x401102, {0x75, 0x05}, "jne 0x401109", BranchKind::Conditional, 0x401109},
      // jmp rel8 backwards: pc + 2 - 4
      {0x401108, {0xeb, 0xfc}, "jmp 0x401106", BranchKind::DirectJump, 0x401106},
      {0x40110c, {0xff, 0xe0}, "jmp rax", BranchKind::IndirectJump, 0},
      {0x403000, {0xff, 0x25, 0x00, 0x00, 0x00, 0x00}, "jmp QWORD PTR [rip]",
       BranchKind::IndirectJump, 0},
      {0x403010, {0xe2, 0xfe}, "loop 0x403010", BranchKind::Conditional, 0x403010},
      {0x403020, {0x0f, 0x05}, "syscall", BranchKind::Other, 0},
      {0x403030, {0xcd, 0x80}, "int 0x80", BranchKind::Other, 0},
      {0x403040, {0x48, 0xcf}, "iretq", BranchKind::Other, 0},
      {0x403050, {0x50}, "push rax", BranchKind::None, 0},
      // SVM: VMRUN enters a guest; VMMCALL/VMCALL exit to the hypervisor.
      {0x403060, {0x0f, 0x01, 0xd8}, "vmrun rax", BranchKind::Other, 0},
      {0x403070, {0x0f, 0x01, 0xd9}, "vmmcall", BranchKind::Other, 0},
      {0x403080, {0x0f, 0x01, 0xc1}, "vmcall", BranchKind::Other, 0},
  };
  Disassembler dis(Isa::x86_64);
  for (const Case& c : cases) {
    const DecodedInsn& d = dis.decode(c.pc, c.bytes.data(), c.bytes.size());
    SCOPED_TRACE(c.text);
    EXPECT_TRUE(d.valid);
    EXPECT_EQ(d.length, c.bytes.size());
    EXPECT_EQ(d.text, c.text);
    EXPECT_EQ(d.branch, c.kind) << branch_kind_name(d.branch);
    EXPECT_EQ(d.has_target, c.target != 0);
    EXPECT_EQ(d.target, c.target);
  }
}

// aarch64: words assembled by GNU as; targets are absolute, as Capstone
// prints them; branch kinds from the architecture manual.
TEST(Disasm, Aarch64TextKindAndTarget) {
  struct A64Case {
    uint64_t pc;
    uint32_t word;
    const char* text;
    BranchKind kind;
    uint64_t target;
  };
  const A64Case cases[] = {
      {0x400000, 0x8B020020, "add x0, x1, x2", BranchKind::None, 0},
      {0x400000, 0xF8408420, "ldr x0, [x1], #8", BranchKind::None, 0},
      {0x400000, 0x14000002, "b #0x400008", BranchKind::DirectJump, 0x400008},
      {0x400000, 0x97FFFFFF, "bl #0x3ffffc", BranchKind::DirectCall, 0x3ffffc},
      {0x400000, 0x54000081, "b.ne #0x400010", BranchKind::Conditional, 0x400010},
      {0x400000, 0x35FFFFC1, "cbnz w1, #0x3ffff8", BranchKind::Conditional, 0x3ffff8},
      {0x400000, 0xB6F80062, "tbz x2, #0x3f, #0x40000c", BranchKind::Conditional, 0x40000c},
      {0x400000, 0xD61F0200, "br x16", BranchKind::IndirectJump, 0},
      {0x400000, 0xD63F0100, "blr x8", BranchKind::IndirectCall, 0},
      {0x400000, 0xD65F03C0, "ret", BranchKind::Return, 0},
      {0x400000, 0xD4000001, "svc #0", BranchKind::Other, 0},
      {0x400000, 0xD69F03E0, "eret", BranchKind::Other, 0},
      // Capstone 4 knows ARMv8.0 only: newer words keep their branch kind
      // and print as objdump prints an unknown word.
      {0x400000, 0xD65F0BFF, ".inst 0xd65f0bff", BranchKind::Return, 0},        // retaa
      {0x400000, 0xD63F087F, ".inst 0xd63f087f", BranchKind::IndirectCall, 0},  // blraaz x3
      {0x400000, 0xF8200041, ".inst 0xf8200041", BranchKind::None, 0},          // ldadd x0, x1, [x2]
  };
  Disassembler dis(Isa::aarch64);
  for (const A64Case& c : cases) {
    uint8_t b[4] = {uint8_t(c.word), uint8_t(c.word >> 8), uint8_t(c.word >> 16), uint8_t(c.word >> 24)};
    const DecodedInsn& d = dis.decode(c.pc, b, 4);
    SCOPED_TRACE(c.text);
    EXPECT_TRUE(d.valid);
    EXPECT_EQ(d.length, 4);
    EXPECT_EQ(d.text, c.text);
    EXPECT_EQ(d.branch, c.kind) << branch_kind_name(d.branch);
    EXPECT_EQ(d.has_target, c.target != 0);
    EXPECT_EQ(d.target, c.target);
  }
  const uint8_t two[2] = {0x1f, 0x20};
  EXPECT_FALSE(dis.decode(0x400000, two, 2).valid) << "A64 instructions are 4 bytes";
  EXPECT_EQ(dis.decode(0x400000, two, 2).text, "(bad)");
  EXPECT_EQ(register_id_name(reg::kA64X0 + 30), "x30");
  EXPECT_EQ(register_id_name(reg::kA64V0 + 31), "v31");
}

TEST(Disasm, Aarch64Registers) {
  Disassembler dis(Isa::aarch64);
  auto decode = [&](uint32_t w) -> const DecodedInsn& {
    static uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = uint8_t(w >> (8 * i));
    return dis.decode(0x400000, b, 4);
  };
  const uint8_t x0 = reg::kA64X0, x1 = reg::kA64X0 + 1, x2 = reg::kA64X0 + 2;
  struct R {
    uint32_t word;
    const char* text;
    std::vector<uint8_t> reads, writes;
  } cases[] = {
      {0x8B020020, "add x0, x1, x2", {x1, x2}, {x0}},
      {0xF8408C20, "ldr x0, [x1, #8]!", {x1}, {x0, x1}},
      {0xA9BF7BFD, "stp x29, x30, [sp, #-16]!", {uint8_t(x0 + 29), uint8_t(x0 + 30), reg::kRsp}, {reg::kRsp}},
      {0x6B020020, "subs w0, w1, w2", {x1, x2}, {reg::kFlags, x0}},
      {0xD28000A0, "mov x0, #5", {}, {x0}},
      {0xF2A00020, "movk x0, #1, lsl #16", {x0}, {x0}},
      {0xD5182000, "msr ttbr0_el1, x0", {x0}, {}},
      {0xD5382000, "mrs x0, ttbr0_el1", {}, {x0}},
      {0xD500419F, "msr pan, #1", {}, {}},
      {0xD4000001, "svc #0", {}, {}},
      {0xD503201F, "nop", {}, {}},
      {0xD2C0001F, "movz xzr, #0, lsl #32 (a START marker)", {}, {}},
  };
  for (const R& c : cases) {
    const DecodedInsn& d = decode(c.word);
    SCOPED_TRACE(c.text);
    EXPECT_EQ(std::vector<uint8_t>(d.reads, d.reads + d.read_count), c.reads);
    EXPECT_EQ(std::vector<uint8_t>(d.writes, d.writes + d.write_count), c.writes);
  }
}

TEST(Disasm, RegistersFromOperandLists) {
  Disassembler dis(Isa::x86_64);
  {
    uint8_t b[] = {0x48, 0x89, 0xc3};  // mov rbx, rax
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.reads_reg(reg::kRax));
    EXPECT_TRUE(d.writes_reg(reg::kRbx));
    EXPECT_FALSE(d.reads_flags);
    EXPECT_FALSE(d.writes_flags);
    EXPECT_EQ(d.read_count, 1);
    EXPECT_EQ(d.write_count, 1);
  }
  {
    uint8_t b[] = {0x01, 0xd8};  // add eax, ebx: sub-registers map to rax/rbx, writes flags
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_EQ(d.text, "add eax, ebx");
    EXPECT_TRUE(d.reads_reg(reg::kRax));
    EXPECT_TRUE(d.reads_reg(reg::kRbx));
    EXPECT_TRUE(d.writes_reg(reg::kRax));
    EXPECT_TRUE(d.writes_flags);
    EXPECT_TRUE(d.writes_reg(reg::kFlags));
  }
  {
    uint8_t b[] = {0x75, 0x05};  // jnz: reads flags and rip, writes rip
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.reads_flags);
    EXPECT_TRUE(d.reads_reg(reg::kFlags));
    EXPECT_TRUE(d.writes_reg(reg::kIp));
    EXPECT_FALSE(d.writes_reg(reg::kRsp));
  }
  {
    uint8_t b[] = {0xe8, 0, 0, 0, 0};  // call: rsp and rip read and written
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.reads_reg(reg::kRsp));
    EXPECT_TRUE(d.writes_reg(reg::kRsp));
    EXPECT_TRUE(d.writes_reg(reg::kIp));
  }
  {
    uint8_t b[] = {0x58};  // pop rax
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.reads_reg(reg::kRsp));
    EXPECT_TRUE(d.writes_reg(reg::kRsp));
    EXPECT_TRUE(d.writes_reg(reg::kRax));
  }
  {
    uint8_t b[] = {0xc5, 0xf8, 0x28, 0xca};  // vmovaps xmm1, xmm2
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.reads_reg(reg::kVec0 + 2));
    EXPECT_TRUE(d.writes_reg(reg::kVec0 + 1));
  }
  {
    uint8_t b[] = {0xff, 0x24, 0xc5, 0x00, 0x10, 0x00, 0x00};  // jmp [rax*8+0x1000]
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_EQ(d.branch, BranchKind::IndirectJump);
    EXPECT_TRUE(d.reads_reg(reg::kRax));
    EXPECT_FALSE(d.indirect_via_memory_only);
  }
  {
    uint8_t b[] = {0xff, 0x25, 0, 0, 0, 0};  // jmp [rip+0]
    const DecodedInsn& d = dis.decode(0x1000, b, sizeof b);
    EXPECT_TRUE(d.indirect_via_memory_only);
  }
}

TEST(Disasm, I386) {
  Disassembler dis(Isa::i386);
  uint8_t call[] = {0xe8, 0x00, 0x00, 0x00, 0x00};  // call $+5 (PIC thunk)
  const DecodedInsn& d = dis.decode(0x8048000, call, sizeof call);
  EXPECT_EQ(d.text, "call 0x8048005");
  EXPECT_EQ(d.branch, BranchKind::DirectCall);
  EXPECT_EQ(d.target, 0x8048005u);
  EXPECT_TRUE(d.reads_reg(reg::kRsp));  // esp maps to the stack pointer id
  uint8_t inc[] = {0x40};  // inc eax in 32-bit mode (a REX prefix in 64-bit)
  const DecodedInsn& d2 = dis.decode(0x8048005, inc, sizeof inc);
  EXPECT_EQ(d2.text, "inc eax");
  EXPECT_TRUE(d2.writes_reg(reg::kRax));
}

TEST(Disasm, BadBytesAndCache) {
  Disassembler dis(Isa::x86_64);
  uint8_t bad[] = {0x0f, 0x0a};  // 0f 0a is undefined
  const DecodedInsn& d = dis.decode(0x1000, bad, sizeof bad);
  EXPECT_FALSE(d.valid);
  EXPECT_EQ(d.text, "(bad)");
  EXPECT_EQ(d.branch, BranchKind::None);
  uint8_t b[] = {0x75, 0x05};
  dis.decode(0x2000, b, 2);
  dis.decode(0x2000, b, 2);
  // Same bytes at another pc decode separately (the target differs).
  EXPECT_EQ(dis.decode(0x3000, b, 2).target, 0x3007u);
  EXPECT_EQ(dis.cache_hits(), 1u);
  EXPECT_EQ(dis.cache_misses(), 3u);
}

TEST(Disasm, RegisterNames) {
  EXPECT_EQ(register_id_name(reg::kRsp), "rsp");
  EXPECT_EQ(register_id_name(reg::kFlags), "rflags");
  EXPECT_EQ(register_id_name(reg::kIp), "rip");
  EXPECT_EQ(register_id_name(0), "");
}

}  // namespace
}  // namespace qemutrace

namespace qemutrace {
namespace {

// A second tool as the oracle: GNU objdump's Intel text of the same bytes.
// Mnemonics (with prefixes) must agree; operands too, once objdump's ","
// separator is given our ", " and its "+0x0" displacements dropped.
// REP string instructions by their prefix and opcode: a string opcode
// without the prefix is not one, nor is F3 before a non-string opcode
// (pause, tzcnt) or in a segment-prefixed string instruction without REP.
TEST(Disasm, RepString) {
  Disassembler d(Isa::x86_64);
  const std::vector<std::pair<std::vector<uint8_t>, bool>> cases = {
      {{0xf3, 0xa4}, true},        {{0xf3, 0x48, 0xa5}, true}, {{0xf3, 0xab}, true},
      {{0xf2, 0xae}, true},        {{0xf3, 0xa6}, true},       {{0xf3, 0x6c}, true},
      {{0xa4}, false},             {{0x48, 0xad}, false},      {{0x64, 0xa4}, false},
      {{0xf3, 0x90}, false},       {{0xf3, 0x48, 0x0f, 0xbc, 0xc0}, false},
      {{0x48, 0x89, 0xc3}, false},
  };
  uint64_t pc = 0x401000;
  for (const auto& [bytes, rep] : cases) {
    const DecodedInsn& x = d.decode(pc, bytes.data(), bytes.size());
    EXPECT_EQ(x.rep_string, rep) << x.text;
    pc += 16;
  }
}

TEST(Disasm, MnemonicsAndStringOperandsAsObjdump) {
  const std::vector<std::vector<uint8_t>> cases = {
      {0x74, 0x02}, {0x75, 0x02}, {0x77, 0x02}, {0x73, 0x02}, {0x7f, 0x02}, {0x7d, 0x02},
      {0x72, 0x02}, {0x76, 0x02}, {0x7c, 0x02}, {0x7e, 0x02}, {0x78, 0x02}, {0x79, 0x02},
      {0x0f, 0x94, 0xc0}, {0x0f, 0x95, 0xc0}, {0x0f, 0x97, 0xc2}, {0x0f, 0x93, 0xc2},
      {0x0f, 0x9f, 0xc2}, {0x0f, 0x9d, 0xc2}, {0x48, 0x0f, 0x44, 0xc1}, {0x48, 0x0f, 0x45, 0xc1},
      {0x48, 0x0f, 0x47, 0xc1}, {0x48, 0x0f, 0x43, 0xc1}, {0x48, 0x0f, 0x4f, 0xc1},
      {0x48, 0x0f, 0x4d, 0xc1}, {0x48, 0x0f, 0x4c, 0xc1}, {0x48, 0x0f, 0x48, 0xc1},
      {0xf3, 0x48, 0xa5}, {0xf3, 0xa4}, {0xf3, 0xa5}, {0xa4}, {0xf3, 0x48, 0xab}, {0xf3, 0xab},
      {0xaa}, {0xac}, {0x48, 0xad}, {0xf2, 0xae}, {0xf3, 0xa6}, {0xa6}, {0x64, 0xa4},
      {0x48, 0xb8, 0x04, 0, 0, 0, 0, 0, 0, 0}, {0x66, 0x90}, {0x9c}, {0x9d}, {0x48, 0xcf},
      {0x0f, 0x1f, 0x44, 0x00, 0x00}, {0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00},
      {0x48, 0x83, 0xc4, 0xf8}, {0xf0, 0x0f, 0xb1, 0x0a}, {0x48, 0x63, 0xc0}, {0x0f, 0xb6, 0xc0},
  };
  std::string dir = ::testing::TempDir();
  std::string bin = dir + "/disasm_objdump.bin";
  std::vector<size_t> offsets;
  {
    FILE* f = std::fopen(bin.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    size_t off = 0;
    for (const auto& c : cases) {
      offsets.push_back(off);
      std::fwrite(c.data(), 1, c.size(), f);
      off += c.size();
    }
    std::fclose(f);
  }
  std::string cmd = "objdump -D -b binary -m i386:x86-64 -M intel --insn-width=15 " + bin;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr) << "objdump (binutils) is needed";
  std::map<size_t, std::string> theirs;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    size_t colon = l.find(":\t");
    if (colon == std::string::npos) continue;
    size_t tab = l.find('\t', colon + 2);
    if (tab == std::string::npos) continue;
    size_t off = std::stoul(l.substr(0, colon), nullptr, 16);
    std::string text = l.substr(tab + 1);
    // objdump pads the mnemonic; collapse runs of spaces.
    std::string t;
    for (char ch : text)
      if (!(ch == ' ' && !t.empty() && t.back() == ' ')) t += ch;
    theirs[off] = t;
  }
  ASSERT_EQ(pclose(p), 0) << cmd;
  Disassembler dis(Isa::x86_64);
  for (size_t i = 0; i < cases.size(); ++i) {
    const DecodedInsn& d = dis.decode(offsets[i], cases[i].data(), cases[i].size());
    std::string want = theirs[offsets[i]];
    // objdump: "a,b" and "# 0x..." comments and "+0x0" displacements.
    size_t hash = want.find(" #");
    if (hash != std::string::npos) want.resize(hash);
    while (!want.empty() && want.back() == ' ') want.pop_back();
    std::string norm;
    for (size_t k = 0; k < want.size(); ++k) {
      norm += want[k];
      if (want[k] == ',') norm += ' ';
    }
    for (size_t at; (at = norm.find("+0x0]")) != std::string::npos;) norm.erase(at, 4);
    std::string ours = d.text;
    // Branch targets: objdump prints them without 0x; compare mnemonics only.
    if (d.branch == BranchKind::Conditional) {
      EXPECT_EQ(ours.substr(0, ours.find(' ')), norm.substr(0, norm.find(' '))) << norm;
      continue;
    }
    EXPECT_EQ(ours, norm);
  }
}

}  // namespace
}  // namespace qemutrace
