// plugin/arch/aarch64.cpp: successor classes, memory expectations, which
// instructions may stop a block, which may change the core's mappings,
// markers, and exception level / address space from raw register values.
// Every instruction word below was assembled by GNU as
// (aarch64-linux-gnu-as -march=armv8.5-a+memtag) from the text next to it;
// "." is the instruction's own address.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arch/arch.h"

namespace qemutrace::plugin {
namespace {

struct Word {
  uint32_t word;
  const char* text;
};

constexpr uint64_t kPc = 0x400000;

std::unique_ptr<Arch> a64() {
  std::string err;
  auto a = make_arch("aarch64", &err);
  EXPECT_TRUE(a) << err;
  return a;
}

std::vector<uint8_t> le(uint32_t w) {
  return {uint8_t(w), uint8_t(w >> 8), uint8_t(w >> 16), uint8_t(w >> 24)};
}

InsnClass classify(const Arch& a, uint32_t w) {
  auto b = le(w);
  return a.classify(kPc, b.data(), b.size());
}

TEST(A64Arch, MakeArchKnowsTheTargetAndItsIsa) {
  auto a = a64();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->isa(), Isa::aarch64);
  // QEMU 10's gdb register names (qemu_plugin_get_registers lists them).
  ContextRegs r = a->regs();
  EXPECT_STREQ(r.priv, "cpsr");
  EXPECT_STREQ(r.asid, "TTBR0_EL1");
  EXPECT_STREQ(r.mode, "SCTLR");
  EXPECT_EQ(r.arg0, nullptr);  // no legacy markers on aarch64
}

TEST(A64Arch, DirectBranchesCarryTheirTargets) {
  auto a = a64();
  struct Case {
    Word w;
    Flow flow;
    int64_t offset;
  };
  const std::vector<Case> cases = {
      {{0x14000002, "b .+8"}, Flow::Direct, 8},
      {{0x97FFFFFF, "bl .-4"}, Flow::Direct, -4},
      {{0x54000081, "b.ne .+0x10"}, Flow::CondDirect, 0x10},
      {{0x5400002E, "b.al .+4"}, Flow::CondDirect, 4},
      {{0xB4000040, "cbz x0, .+8"}, Flow::CondDirect, 8},
      {{0x35FFFFC1, "cbnz w1, .-8"}, Flow::CondDirect, -8},
      {{0xB6F80062, "tbz x2, #63, .+12"}, Flow::CondDirect, 12},
      {{0x37000023, "tbnz w3, #0, .+4"}, Flow::CondDirect, 4},
      {{0x361FFFC0, "tbz w0, #3, .-8"}, Flow::CondDirect, -8},
      {{0xB7440005, "tbnz x5, #40, .-0x8000"}, Flow::CondDirect, -0x8000},
  };
  for (const Case& c : cases) {
    InsnClass k = classify(*a, c.w.word);
    EXPECT_EQ(k.flow, c.flow) << c.w.text;
    EXPECT_EQ(k.target, kPc + c.offset) << c.w.text;
  }
}

TEST(A64Arch, RegisterBranchesReturnsAndExceptionsAreUnpredictable) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xD61F0200, "br x16"},    {0xD63F0100, "blr x8"},    {0xD65F03C0, "ret"},
      {0xD65F0020, "ret x1"},    {0xD65F0BFF, "retaa"},     {0xD71F0822, "braa x1, x2"},
      {0xD63F087F, "blraaz x3"}, {0xD69F03E0, "eret"},      {0xD69F0BFF, "eretaa"},
      {0xD4000001, "svc #0"},    {0xD4000002, "hvc #0"},    {0xD4000003, "smc #0"},
      {0xD4200000, "brk #0"},    {0xD4400000, "hlt #0"},    {0x00000000, "udf #0"},
  };
  for (const Word& w : cases) EXPECT_EQ(classify(*a, w.word).flow, Flow::Indirect) << w.text;
  EXPECT_EQ(classify(*a, 0x8B020020).flow, Flow::Next) << "add x0, x1, x2";
  EXPECT_EQ(classify(*a, 0xD503207F).flow, Flow::Next) << "wfi: an interrupt after it is a discontinuity";
}

TEST(A64Arch, LoadsStoresPairsExclusivesAtomicsAndSimdMustAccessMemory) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xF9400020, "ldr x0, [x1]"},
      {0xB9000420, "str w0, [x1, #4]"},
      {0xF85FD020, "ldur x0, [x1, #-3]"},
      {0xF8408420, "ldr x0, [x1], #8"},
      {0xF8408C20, "ldr x0, [x1, #8]!"},
      {0xF8627820, "ldr x0, [x1, x2, lsl #3]"},
      {0x38624820, "ldrb w0, [x1, w2, uxtw]"},
      {0xF8400820, "ldtr x0, [x1]"},
      {0xA8C17BFD, "ldp x29, x30, [sp], #16"},
      {0xA9BF7BFD, "stp x29, x30, [sp, #-16]!"},
      {0xA8400440, "ldnp x0, x1, [x2]"},
      {0x69400440, "ldpsw x0, x1, [x2]"},
      {0x58000040, "ldr x0, .+8"},
      {0x9C000040, "ldr q0, .+8"},
      {0xC85F7C20, "ldxr x0, [x1]"},
      {0x885FFC20, "ldaxr w0, [x1]"},
      {0xC87F0440, "ldxp x0, x1, [x2]"},
      {0xC8DFFC20, "ldar x0, [x1]"},
      {0xC89FFC20, "stlr x0, [x1]"},
      {0xC8A07C41, "cas x0, x1, [x2]"},
      {0x88E0FC41, "casal w0, w1, [x2]"},
      {0x48207C82, "casp x0, x1, x2, x3, [x4]"},
      {0xF8200041, "ldadd x0, x1, [x2]"},
      {0xF8E00041, "ldaddal x0, x1, [x2]"},
      {0xF8208041, "swp x0, x1, [x2]"},
      {0xF8BFC020, "ldapr x0, [x1]"},
      {0xD9400020, "ldapur x0, [x1]"},
      {0x99000020, "stlur w0, [x1]"},
      {0x4C407000, "ld1 {v0.16b}, [x0]"},
      {0x0D009020, "st1 {v0.s}[1], [x1]"},
      {0x4CDF0800, "ld4 {v0.4s, v1.4s, v2.4s, v3.4s}, [x0], #64"},
      {0x4D40C800, "ld1r {v0.4s}, [x0]"},
      {0x3DC00000, "ldr q0, [x0]"},
      {0xAD0007E0, "stp q0, q1, [sp]"},
      {0xF8200420, "ldraa x0, [x1]"},
  };
  for (const Word& w : cases) EXPECT_TRUE(classify(*a, w.word).must_access_memory) << w.text;
}

TEST(A64Arch, AccessesThatMayNotHappenAreNotExpected) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xC8027C20, "stxr w2, x0, [x1]: fails without storing"},
      {0xC802FC20, "stlxr w2, x0, [x1]"},
      {0xC8220460, "stxp w2, x0, x1, [x3]"},
      {0xF9800000, "prfm pldl1keep, [x0]"},
      {0xF8A16800, "prfm pldl1keep, [x0, x1]"},
      {0xF8801000, "prfum pldl1keep, [x0, #1]"},
      {0xD8000040, "prfm pldl1keep, .+8"},
      {0xD9200820, "stg x0, [x1]: tags only"},
      {0xD9600020, "ldg x0, [x1]"},
      {0xD50B7420, "dc zva, x0"},
      {0x8B020020, "add x0, x1, x2"},
      {0xD503201F, "nop"},
  };
  for (const Word& w : cases) EXPECT_FALSE(classify(*a, w.word).must_access_memory) << w.text;
}

TEST(A64Arch, RegisterArithmeticAndDirectBranchesCannotStopABlock) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0x91000420, "add x0, x1, #1"},
      {0x90000000, "adrp x0, .+0x1000"},
      {0x10000020, "adr x0, .+4"},
      {0xD28000A0, "mov x0, #5"},
      {0xF2A00020, "movk x0, #1, lsl #16"},
      {0x12800020, "movn w0, #1"},
      {0x92401C20, "and x0, x1, #0xff"},
      {0x721C0C20, "ands w0, w1, #0xf0"},
      {0xD3442C20, "ubfx x0, x1, #4, #8"},
      {0x131E0820, "sbfiz w0, w1, #2, #3"},
      {0x93C21C20, "extr x0, x1, x2, #7"},
      {0x8B020C20, "add x0, x1, x2, lsl #3"},
      {0x6B827C20, "subs w0, w1, w2, asr #31"},
      {0x8B224820, "add x0, x1, w2, uxtw #2"},
      {0xAAC2F020, "orr x0, x1, x2, ror #60"},
      {0x9A020020, "adc x0, x1, x2"},
      {0x7A020020, "sbcs w0, w1, w2"},
      {0xFA411800, "ccmp x0, #1, #0, ne"},
      {0x3A410004, "ccmn w0, w1, #4, eq"},
      {0x9A82B020, "csel x0, x1, x2, lt"},
      {0x1A82A420, "csinc w0, w1, w2, ge"},
      {0x9AC20820, "udiv x0, x1, x2: division by zero gives 0"},
      {0x1AC20C20, "sdiv w0, w1, w2"},
      {0x9AC22020, "lsl x0, x1, x2"},
      {0x1AC22C20, "rorv w0, w1, w2"},
      {0xDAC00020, "rbit x0, x1"},
      {0xDAC00C20, "rev x0, x1"},
      {0x5AC00420, "rev16 w0, w1"},
      {0xDAC01020, "clz x0, x1"},
      {0x5AC01420, "cls w0, w1"},
      {0x9B020C20, "madd x0, x1, x2, x3"},
      {0x1B027C20, "mul w0, w1, w2"},
      {0x9BC27C20, "umulh x0, x1, x2"},
      {0x9B220C20, "smaddl x0, w1, w2, x3"},
      {0xD503201F, "nop"},
      {0x14000002, "b .+8"},
      {0x97FFFFFF, "bl .-4"},
      {0x54000081, "b.ne .+0x10"},
      {0xB4000040, "cbz x0, .+8"},
      {0x37000023, "tbnz w3, #0, .+4"},
  };
  for (const Word& w : cases) EXPECT_FALSE(classify(*a, w.word).may_stop_block) << w.text;
}

TEST(A64Arch, WhatCanFaultTrapOrWaitMayStopABlock) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xF9400020, "ldr x0, [x1]"},
      {0xB9000420, "str w0, [x1, #4]"},
      {0xD61F0200, "br x16"},
      {0xD63F0100, "blr x8"},
      {0xD65F03C0, "ret"},
      {0xD4000001, "svc #0"},
      {0x00000000, "udf #0"},
      {0xD51BD040, "msr tpidr_el0, x0"},
      {0xD5382000, "mrs x0, ttbr0_el1"},
      {0x1E622820, "fadd d0, d1, d2: traps while FP is disabled"},
      {0xDAC10020, "pacia x0, x1"},
      {0xD50323BF, "autiasp: faults on a bad signature (FPAC)"},
      {0x9AC23020, "pacga x0, x1, x2"},
      {0x1AC24020, "crc32b w0, w1, w2"},
      {0x91810420, "addg x0, x1, #16, #1"},
      {0xD503203F, "yield"},
      {0xD503207F, "wfi"},
      {0xD4400000, "hlt #0"},
      {0xD4200000, "brk #0"},
      {0xD5033FDF, "isb"},
      {0xD5033F9F, "dsb sy"},
      {0xD50B7420, "dc zva, x0"},
      // Unallocated encodings inside the arithmetic classes are UNDEFINED.
      {0x12400000, "logical immediate, 32-bit with N=1"},
      {0x32800000, "move wide with opc=01"},
      {0x52C00000, "movz w0, lsl #32"},
      {0x13400000, "bitfield, 32-bit with N=1"},
      {0x0B800000 | (3u << 22), "add shifted with shift=11"},
      {0x0B208000 | (5u << 10), "add extended with shift 5"},
  };
  for (const Word& w : cases) EXPECT_TRUE(classify(*a, w.word).may_stop_block) << w.text;
}

TEST(A64Arch, TranslationRegisterWritesTlbMaintenanceAndRegimeChangesChangeMappings) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xD5182000, "msr ttbr0_el1, x0"}, {0xD5182020, "msr ttbr1_el1, x0"},
      {0xD5182040, "msr tcr_el1, x0"},   {0xD5181000, "msr sctlr_el1, x0"},
      {0xD518A200, "msr mair_el1, x0"},  {0xD51C1100, "msr hcr_el2, x0"},
      {0xD51C2100, "msr vttbr_el2, x0"}, {0xD500419F, "msr pan, #1"},
      {0xD500417F, "msr uao, #1"},       {0xD5184260, "msr pan, x0"},
      {0xD508871F, "tlbi vmalle1"},      {0xD5088320, "tlbi vae1is, x0"},
      {0xD5088740, "tlbi aside1, x0"},   {0xD69F03E0, "eret"},
      {0xD69F0BFF, "eretaa"},            {0xD4000002, "hvc #0"},
      {0xD4000003, "smc #0"},
  };
  for (const Word& w : cases) EXPECT_TRUE(classify(*a, w.word).changes_translation) << w.text;
  EXPECT_TRUE(classify(*a, 0xD5182000).writes_asid);
  EXPECT_TRUE(classify(*a, 0xD5182020).writes_asid);
  EXPECT_FALSE(classify(*a, 0xD5182040).writes_asid) << "tcr";
}

TEST(A64Arch, PerExceptionAndUserRegisterWritesKeepMappings) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xD51BD040, "msr tpidr_el0, x0"},
      {0xD51B2520, "msr s3_3_c2_c5_1, x0 (GCSPR_EL0: CRn 2, but EL0's)"},
      {0xD5184100, "msr sp_el0, x0: Linux writes it on every kernel entry"},
      {0xD5184020, "msr elr_el1, x0"},
      {0xD5184000, "msr spsr_el1, x0"},
      {0xD50342DF, "msr daifset, #2"},
      {0xD51B4200, "msr nzcv, x0"},
      {0xD518D080, "msr tpidr_el1, x0"},
      {0xD518C000, "msr vbar_el1, x0"},
      {0xD518D020, "msr contextidr_el1, x0"},
      {0xD5382000, "mrs x0, ttbr0_el1"},
      {0xD50B7E20, "dc civac, x0"},
      {0xD508751F, "ic iallu"},
      {0xD5087800, "at s1e1r, x0"},
      {0xD4000001, "svc #0: EL1 shares EL0's translation regime"},
      {0xF9400020, "ldr x0, [x1]"},
      {0xD5033FDF, "isb"},
  };
  for (const Word& w : cases) EXPECT_FALSE(classify(*a, w.word).changes_translation) << w.text;
}

TEST(A64Arch, MarkersMatchTheDocumentedEncodingWithTheirIds) {
  auto a = a64();
  struct Case {
    uint32_t word;
    MarkerType type;
    uint16_t id;
  };
  // movz xzr, #id, lsl #32 / #48, as GNU as assembles them.
  const std::vector<Case> cases = {
      {0xD2C0001F, MarkerType::NopStart, 0},     {0xD2C000FF, MarkerType::NopStart, 7},
      {0xD2DFFFFF, MarkerType::NopStart, 65535}, {0xD2E0003F, MarkerType::NopStop, 1},
      {0xD2F579BF, MarkerType::NopStop, 0xABCD}, {0xD2FFFFFF, MarkerType::NopStop, 65535},
  };
  for (const Case& c : cases) {
    auto b = le(c.word);
    MarkerMatch m = a->match_marker(b.data(), b.size());
    EXPECT_EQ(m.type, c.type) << std::hex << c.word;
    EXPECT_EQ(m.id, c.id) << std::hex << c.word;
  }
}

TEST(A64Arch, NearMissesAreNoMarkers) {
  auto a = a64();
  const std::vector<Word> cases = {
      {0xD2A0003F, "movz xzr, #1, lsl #16"},
      {0xD2800FFF, "movz xzr, #0x7f"},
      {0xD2C00020, "movz x0, #1, lsl #32"},
      {0xD2E0003E, "movz x30, #1, lsl #48"},
      {0x92C0003F, "movn xzr, #1, lsl #32"},
      {0xF2C0003F, "movk xzr, #1, lsl #32"},
      {0x52C0003F, "movz wzr, lsl #32 (32-bit: unallocated)"},
      {0xD503201F, "nop"},
  };
  for (const Word& w : cases) {
    auto b = le(w.word);
    EXPECT_EQ(a->match_marker(b.data(), b.size()).type, MarkerType::None) << w.text;
  }
  // The right word at the wrong length is no marker either.
  auto b = le(0xD2C000FF);
  EXPECT_EQ(a->match_marker(b.data(), 2).type, MarkerType::None);
  b.insert(b.end(), {0x1F, 0x20, 0x03, 0xD5});
  EXPECT_EQ(a->match_marker(b.data(), b.size()).type, MarkerType::None);
}

TEST(A64Arch, ExceptionLevelFromPstate) {
  auto a = a64();
  // The trace's cpl: 3 user (EL0), 0 kernel (EL1 and up).
  EXPECT_EQ(a->privilege(0x00000000, 0), 3) << "EL0t";
  EXPECT_EQ(a->privilege(0x60000000, 0), 3) << "EL0t, Z and C set";
  EXPECT_EQ(a->privilege(0x000003C0, 0), 3) << "EL0t, DAIF masked";
  EXPECT_EQ(a->privilege(0x00000004, 0), 0) << "EL1t";
  EXPECT_EQ(a->privilege(0x000003C5, 0), 0) << "EL1h, DAIF masked";
  EXPECT_EQ(a->privilege(0x00400005, 0), 0) << "EL1h, PAN";
  EXPECT_EQ(a->privilege(0x00000009, 0), 0) << "EL2h";
  EXPECT_EQ(a->privilege(0x0000000D, 0), 0) << "EL3h";
  EXPECT_EQ(a->privilege(0x00000010, 0), 3) << "AArch32 User";
  EXPECT_EQ(a->privilege(0x00000013, 0), 0) << "AArch32 Supervisor";
}

TEST(A64Arch, AddressSpaceIsTheTranslationTableBase) {
  auto a = a64();
  EXPECT_EQ(a->asid(0x0000000041234000ull), 0x41234000ull);
  EXPECT_EQ(a->asid(0x002A000041234000ull), 0x41234000ull) << "ASID bits 63:48 dropped";
  EXPECT_EQ(a->asid(0x0000000041234001ull), 0x41234000ull) << "CnP dropped";
  EXPECT_NE(a->asid(0x0000000041234000ull), a->asid(0x0000000041235000ull));
  EXPECT_TRUE(a->paging(0x30D00801ull)) << "SCTLR_EL1.M set";
  EXPECT_FALSE(a->paging(0x30D00800ull));
}

}  // namespace
}  // namespace qemutrace::plugin
