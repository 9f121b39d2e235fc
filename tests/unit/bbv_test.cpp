// Basic-block vectors on a hand-built program of known structure. Every
// expected line is worked out by hand in the comments from the program's
// blocks, never taken from the converter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "qemutrace/convert.h"

namespace qemutrace {
namespace {

struct Step {
  uint64_t pc;
  std::vector<uint8_t> bytes;
  uint64_t next_pc;
  bool interrupted = false;  // a DISCONTINUITY marker before it
};

std::string vectors(const std::vector<Step>& steps, uint64_t interval) {
  std::vector<uint8_t> out;
  ConsumerOptions o;
  o.bbv_interval = interval;
  auto c = make_consumer(OutputFormat::Bbv, std::make_unique<MemorySink>(&out), o);
  Marker disc;
  disc.kind = MarkerKind::Discontinuity;
  disc.source = MarkerSource::Interrupt;
  uint64_t index = 0;
  for (const Step& s : steps) {
    Instruction in;
    in.index = index++;
    in.pc = s.pc;
    in.bytes = s.bytes.data();
    in.length = uint8_t(s.bytes.size());
    in.next_pc = s.next_pc;
    in.markers = s.interrupted ? &disc : nullptr;
    in.marker_count = s.interrupted ? 1 : 0;
    c->consume(in);
  }
  EXPECT_TRUE(c->finish());
  return std::string(out.begin(), out.end());
}

// The program:
//   A  0x1000 nop               90
//      0x1001 dec ecx           ff c9
//      0x1003 jne 0x1000        75 fb      (A: 3 instructions)
//   B  0x1005 nop               90
//      0x1006 jmp 0x1010        eb 08      (B: 2 instructions)
//   C  0x1010 nop               90
//      0x1011 nop               90
//      0x1012 ret               c3         (C: 3 instructions)
// A runs 3 times (taken, taken, not taken), then B, then C: 3+3+3+2+3 = 14.
std::vector<Step> program() {
  const std::vector<uint8_t> nop{0x90}, dec{0xff, 0xc9}, jne{0x75, 0xfb}, jmp{0xeb, 0x08}, ret{0xc3};
  std::vector<Step> s;
  for (int i = 0; i < 3; ++i) {
    s.push_back({0x1000, nop, 0x1001});
    s.push_back({0x1001, dec, 0x1003});
    s.push_back({0x1003, jne, i < 2 ? 0x1000u : 0x1005u});
  }
  s.push_back({0x1005, nop, 0x1006});
  s.push_back({0x1006, jmp, 0x1010});
  s.push_back({0x1010, nop, 0x1011});
  s.push_back({0x1011, nop, 0x1012});
  s.push_back({0x1012, ret, 0x2000});
  return s;
}

TEST(Bbv, OneLinePerIntervalCheckedWhereBlocksEnd) {
  // Interval 4. Blocks end after 3 (A), 6 (A), 9 (A), 11 (B), 14 (C):
  //   after A#2: 6 >= 4 -> line {A: 6}, 2 carried over;
  //   after A#3: 2+3 = 5 >= 4 -> line {A: 3}, 1 carried;
  //   after B: 1+2 = 3; after C: 3+3 = 6 >= 4 -> line {B: 2, C: 3}, 2 carried.
  // Ids in order of first completion: A 1, B 2, C 3.
  EXPECT_EQ(vectors(program(), 4), "T:1:6 \nT:1:3 \nT:2:2 :3:3 \n");
}

TEST(Bbv, TheLastPartialIntervalIsNotWritten) {
  // Interval 10: after B, 11 >= 10 -> line {A: 9, B: 2}, 1 carried; after C
  // 1+3 = 4 < 10 and the trace ends: C's 3 are not written. Interval 20: none.
  EXPECT_EQ(vectors(program(), 10), "T:1:9 :2:2 \n");
  EXPECT_EQ(vectors(program(), 20), "");
}

TEST(Bbv, AnInterruptEndsTheBlockItCuts) {
  // An interrupt arrives before 0x1011: C is cut into C1 = {0x1010} (1
  // instruction, entered at 0x1010, id 3) and C2 = {0x1011, 0x1012}
  // (entered at 0x1011, id 4). Interval 1: a line after every block.
  auto s = program();
  s[12].interrupted = true;  // the step at 0x1011
  EXPECT_EQ(vectors(s, 1), "T:1:3 \nT:1:3 \nT:1:3 \nT:2:2 \nT:3:1 \nT:4:2 \n");
}

TEST(Bbv, ABlockIsKnownByItsEntryPc) {
  // Entering A's code at 0x1001 (a jump into the middle) is another block.
  auto s = program();
  s.insert(s.begin(), {{0x1001, {0xff, 0xc9}, 0x1003}, {0x1003, {0x75, 0xfb}, 0x1000}});
  // Blocks: A' = {0x1001, 0x1003} (2, id 1), then A x3 (id 2), B (3), C (4).
  EXPECT_EQ(vectors(s, 100), "");
  EXPECT_EQ(vectors(s, 16), "T:1:2 :2:9 :3:2 :4:3 \n");
}

TEST(Bbv, NameFileAndWriteErrors) {
  OutputFormat f;
  ASSERT_TRUE(parse_output_format("bbv", &f));
  EXPECT_EQ(f, OutputFormat::Bbv);
  EXPECT_EQ(core_file_path("/t/run", 1, OutputFormat::Bbv), "/t/run_1.bb");
  std::vector<uint8_t> out;
  auto sink = std::make_unique<MemorySink>(&out, "full.bb");
  sink->set_capacity(10);
  ConsumerOptions o;
  o.bbv_interval = 1;
  auto c = make_consumer(OutputFormat::Bbv, std::move(sink), o);
  std::vector<uint8_t> ret{0xc3};
  for (uint64_t i = 0; i < 100; ++i) {
    Instruction in;
    in.index = i;
    in.pc = 0x1000 + 16 * i;  // 100 different one-instruction blocks
    in.bytes = ret.data();
    in.length = 1;
    in.next_pc = 0x1000 + 16 * (i + 1);
    c->consume(in);
  }
  EXPECT_FALSE(c->finish());
  EXPECT_EQ(c->error().find("full.bb"), 0u) << c->error();
}

}  // namespace
}  // namespace qemutrace
