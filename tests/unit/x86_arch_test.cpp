// plugin/arch/x86.cpp: which instructions may stop a translated block early
// (the plugin stores its progress index only before those), successor
// classes and markers. Expectations come from the instruction set manual,
// one hand-assembled encoding per case.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "arch/arch.h"

namespace qemutrace::plugin {
namespace {

struct Case {
  const char* what;
  std::vector<uint8_t> bytes;
};

std::unique_ptr<Arch> arch(const char* target) {
  std::string err;
  auto a = make_arch(target, &err);
  EXPECT_TRUE(a) << err;
  return a;
}

InsnClass classify(const Arch& a, const std::vector<uint8_t>& b, uint64_t pc = 0x401000) {
  return a.classify(pc, b.data(), b.size());
}

TEST(X86Arch, RegisterOnlyIntegerCodeCannotStopABlock) {
  auto a = arch("x86_64");
  const std::vector<Case> cases = {
      {"add eax, ebx", {0x01, 0xD8}},
      {"xor eax, ecx", {0x31, 0xC8}},
      {"imul rax, rax, 0x19660d", {0x48, 0x69, 0xC0, 0x0D, 0x66, 0x19, 0x00}},
      {"shr eax, 7", {0xC1, 0xE8, 0x07}},
      {"lea rax, [rbx+8]", {0x48, 0x8D, 0x43, 0x08}},
      {"mov eax, ebx", {0x89, 0xD8}},
      {"mov rax, imm64", {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8}},
      {"cmove eax, ecx", {0x0F, 0x44, 0xC1}},
      {"sete al", {0x0F, 0x94, 0xC0}},
      {"movsxd rax, ebx", {0x48, 0x63, 0xC3}},
      {"bswap eax", {0x0F, 0xC8}},
      {"xchg eax, ebx", {0x87, 0xD8}},
      {"nop", {0x90}},
      {"jmp rel8", {0xEB, 0x05}},
      {"jne rel8", {0x75, 0xF0}},
  };
  for (const Case& c : cases) EXPECT_FALSE(classify(*a, c.bytes).may_stop_block) << c.what;
}

TEST(X86Arch, InstructionsThatCanFaultOrLeaveMayStopABlock) {
  auto a = arch("x86_64");
  const std::vector<Case> cases = {
      {"mov eax, [rbx]", {0x8B, 0x03}},
      {"mov [rbx], eax", {0x89, 0x03}},
      {"add eax, [rbx]", {0x03, 0x03}},
      {"div ecx", {0xF7, 0xF1}},
      {"idiv rcx", {0x48, 0xF7, 0xF9}},
      {"lock add [rbx], eax", {0xF0, 0x01, 0x03}},
      {"push rax", {0x50}},
      {"call rel32", {0xE8, 0, 0, 0, 0}},
      {"ret", {0xC3}},
      {"jmp rax", {0xFF, 0xE0}},
      {"mov cr3, rax", {0x0F, 0x22, 0xD8}},
      {"mov ds, eax", {0x8E, 0xD8}},
      {"cli", {0xFA}},
      {"hlt", {0xF4}},
      {"syscall", {0x0F, 0x05}},
      {"int 0x80", {0xCD, 0x80}},
      {"ud2", {0x0F, 0x0B}},
      {"rdtsc", {0x0F, 0x31}},
      {"cpuid", {0x0F, 0xA2}},
      {"in al, 0x60", {0xE4, 0x60}},
      {"addps xmm0, xmm1 (#NM with CR0.TS)", {0x0F, 0x58, 0xC1}},
      {"fld st0", {0xD9, 0xC0}},
      {"movsq", {0x48, 0xA5}},
      {"rep movsb", {0xF3, 0xA4}},
      {"undecodable", {0x0F, 0xFF}},
  };
  for (const Case& c : cases) EXPECT_TRUE(classify(*a, c.bytes).may_stop_block) << c.what;
}

TEST(X86Arch, I386BranchesAreKeptConservative) {
  auto a = arch("i386");
  EXPECT_FALSE(classify(*a, {0x40}).may_stop_block);         // inc eax
  EXPECT_TRUE(classify(*a, {0xEB, 0x05}).may_stop_block);    // jmp rel8 (CS limit)
  EXPECT_TRUE(classify(*a, {0x8B, 0x03}).may_stop_block);    // mov eax, [ebx]
}

// The plugin caches translations until one of these runs on the core.
TEST(X86Arch, InstructionsThatMayChangeTranslations) {
  auto a = arch("x86_64");
  const std::vector<Case> changes = {
      {"mov cr3, rax", {0x0F, 0x22, 0xD8}},
      {"mov cr4, rax", {0x0F, 0x22, 0xE0}},
      {"mov cr0, rax", {0x0F, 0x22, 0xC0}},
      {"invlpg [rax]", {0x0F, 0x01, 0x38}},
      {"invpcid rax, [rbx]", {0x66, 0x0F, 0x38, 0x82, 0x03}},
      {"wrmsr", {0x0F, 0x30}},
      {"lmsw ax", {0x0F, 0x01, 0xF0}},
      {"iretq", {0x48, 0xCF}},
      {"rsm", {0x0F, 0xAA}},
      {"wrpkru", {0x0F, 0x01, 0xEF}},
      {"jmp far [rax]", {0xFF, 0x28}},
  };
  for (const Case& c : changes) EXPECT_TRUE(classify(*a, c.bytes).changes_translation) << c.what;
  const std::vector<Case> keeps = {
      {"mov eax, [rbx]", {0x8B, 0x03}},
      {"mov [rbx], eax", {0x89, 0x03}},
      {"syscall", {0x0F, 0x05}},
      {"ret", {0xC3}},
      {"call rel32", {0xE8, 0, 0, 0, 0}},
      {"rep movsb", {0xF3, 0xA4}},
  };
  for (const Case& c : keeps) EXPECT_FALSE(classify(*a, c.bytes).changes_translation) << c.what;
}

TEST(X86Arch, PagingFromCr0) {
  auto a = arch("x86_64");
  EXPECT_TRUE(a->paging(0x80000011));   // PG | ET | PE
  EXPECT_FALSE(a->paging(0x00000011));  // protected mode, no paging
  EXPECT_FALSE(a->paging(0x60000010));  // reset value: real mode
}

TEST(X86Arch, SuccessorClasses) {
  auto a = arch("x86_64");
  InsnClass j = classify(*a, {0xEB, 0x05}, 0x1000);  // jmp +5 from the next instruction
  EXPECT_EQ(j.flow, Flow::Direct);
  EXPECT_EQ(j.target, 0x1007u);
  InsnClass jcc = classify(*a, {0x75, 0xF0}, 0x2000);  // jne -16
  EXPECT_EQ(jcc.flow, Flow::CondDirect);
  EXPECT_EQ(jcc.target, 0x2002u - 16);
  EXPECT_EQ(classify(*a, {0xC3}).flow, Flow::Indirect);
  EXPECT_EQ(classify(*a, {0x01, 0xD8}).flow, Flow::Next);
  EXPECT_TRUE(classify(*a, {0x0F, 0x22, 0xD8}).writes_asid);
  EXPECT_TRUE(classify(*a, {0xF3, 0xA4}).is_rep_string);
  EXPECT_TRUE(classify(*a, {0x8B, 0x03}).must_access_memory);
  EXPECT_FALSE(classify(*a, {0x48, 0x8D, 0x43, 0x08}).must_access_memory);  // lea
}

TEST(X86Arch, Markers) {
  auto a = arch("x86_64");
  const uint8_t start[] = {0x0F, 0x1F, 0x84, 0x00, 0x07, 0x00, 0x54, 0x51};
  const uint8_t stop[] = {0x0F, 0x1F, 0x84, 0x40, 0x07, 0x00, 0x54, 0x51};
  const uint8_t other[] = {0x0F, 0x1F, 0x84, 0x00, 0x07, 0x00, 0x00, 0x00};
  EXPECT_EQ(a->match_marker(start, 8).type, MarkerType::NopStart);
  EXPECT_EQ(a->match_marker(start, 8).id, 7);
  EXPECT_EQ(a->match_marker(stop, 8).type, MarkerType::NopStop);
  EXPECT_EQ(a->match_marker(other, 8).type, MarkerType::None);
  // qemutrace_legacy_confirm(): 0F 1F 84 80 + signature.
  const uint8_t confirm[] = {0x0F, 0x1F, 0x84, 0x80, 0x00, 0x00, 0x54, 0x51};
  const uint8_t scale8[] = {0x0F, 0x1F, 0x84, 0xC0, 0x00, 0x00, 0x54, 0x51};
  EXPECT_EQ(a->match_marker(confirm, 8).type, MarkerType::IntConfirm);
  EXPECT_EQ(a->match_marker(scale8, 8).type, MarkerType::None);
  const uint8_t i100[] = {0xCD, 0x64}, i101[] = {0xCD, 0x65};
  EXPECT_EQ(a->match_marker(i100, 2).type, MarkerType::IntStart);
  EXPECT_EQ(a->match_marker(i101, 2).type, MarkerType::IntStop);
}

TEST(X86Arch, UnknownTargetIsAnError) {
  std::string err;
  EXPECT_FALSE(make_arch("sparc", &err));
  EXPECT_NE(err.find("sparc"), std::string::npos);
}

// System instructions that fall through must predict their fall-through, so
// that an interrupt taken right after one is recorded as a discontinuity.
TEST(X86Arch, SystemInstructionsThatFallThroughPredictIt) {
  auto a = arch("x86_64");
  const std::vector<Case> next = {
      {"rdtsc", {0x0F, 0x31}},   {"rdtscp", {0x0F, 0x01, 0xF9}}, {"cpuid", {0x0F, 0xA2}},
      {"rdmsr", {0x0F, 0x32}},   {"wrmsr", {0x0F, 0x30}},        {"invlpg [rax]", {0x0F, 0x01, 0x38}},
      {"swapgs", {0x0F, 0x01, 0xF8}}, {"hlt", {0xF4}},
  };
  for (const Case& c : next) EXPECT_EQ(classify(*a, c.bytes).flow, Flow::Next) << c.what;
  const std::vector<Case> transfer = {
      {"syscall", {0x0F, 0x05}}, {"sysret", {0x48, 0x0F, 0x07}}, {"iretq", {0x48, 0xCF}},
      {"int 0x80", {0xCD, 0x80}}, {"rsm", {0x0F, 0xAA}},         {"vmcall", {0x0F, 0x01, 0xC1}},
  };
  for (const Case& c : transfer) EXPECT_EQ(classify(*a, c.bytes).flow, Flow::Indirect) << c.what;
}

}  // namespace
}  // namespace qemutrace::plugin
