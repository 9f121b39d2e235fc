// verify's invariants (docs/trace-format.md, "Invariants"): each one gets a
// hand-made trace that breaks it and must be rejected, next to a close
// variant that holds. The x86 bytes are real instructions, so the branch
// classifier sees what a tracer would record.
#include <gtest/gtest.h>

#include "qemutrace/invariants.h"
#include "qemutrace/writer.h"

using namespace qemutrace;

namespace {

// Blocks (x86_64):
//   A 0x401000: nop; nop; jmp 0x401014 (eb 10)
//   B 0x401014: nop; jne 0x401007 (75 f0), fall-through 0x401017
//   D 0x401007: nop; ret
//   E 0x401017: nop; ret
//   F 0x401001: nop; jmp 0x401014 (A from its 2nd instruction)
//   G 0x600000: nop; nop (no branch at the end)
//   R 0x700000: rep movsb
//   X 0x500000: nop; ret
StaticBlock blk(uint64_t vaddr, uint32_t id, std::vector<uint8_t> lengths, std::vector<uint8_t> bytes) {
  return StaticBlock{vaddr, 0, id, uint32_t(lengths.size()), std::move(lengths), std::move(bytes)};
}
const StaticBlock A = blk(0x401000, 0, {1, 1, 2}, {0x90, 0x90, 0xeb, 0x10});
const StaticBlock B = blk(0x401014, 1, {1, 2}, {0x90, 0x75, 0xf0});
const StaticBlock D = blk(0x401007, 2, {1, 1}, {0x90, 0xc3});
const StaticBlock E = blk(0x401017, 3, {1, 1}, {0x90, 0xc3});
const StaticBlock F = blk(0x401001, 4, {1, 2}, {0x90, 0xeb, 0x10});
const StaticBlock G = blk(0x600000, 5, {1, 1}, {0x90, 0x90});
const StaticBlock R = blk(0x700000, 6, {2}, {0xf3, 0xa4});
const StaticBlock X = blk(0x500000, 7, {1, 1}, {0x90, 0xc3});

// A step: a block run (retired instructions) or a marker.
struct Step {
  const StaticBlock* block = nullptr;
  uint32_t retired = 0;
  MarkerKind marker = MarkerKind::RoiBegin;
};
Step run(const StaticBlock& b, uint32_t retired = 0) { return Step{&b, retired ? retired : b.insn_count}; }
Step mark(MarkerKind k) { return Step{nullptr, 0, k}; }
const Step kBegin = mark(MarkerKind::RoiBegin), kEnd = mark(MarkerKind::RoiEnd),
           kLimit = mark(MarkerKind::LimitReached), kDisc = mark(MarkerKind::Discontinuity);

// Writes the steps (chunks of 4 instructions, so that checks cross chunk
// boundaries) and checks the stream; returns the violation or "".
std::string check(const std::vector<Step>& steps, bool finished = true) {
  std::vector<uint8_t> bytes;
  WriterOptions o;
  o.chunk_insns = 4;
  o.clock_ns = [] { return uint64_t(1); };
  {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&bytes), o, 0, nullptr);
    w.set_context(3, 0);
    for (const Step& s : steps) {
      if (!s.block) {
        w.marker(Marker{s.marker, MarkerSource::Console, 0, 0});
        continue;
      }
      w.begin_block(s.block);
      w.end_block(s.retired);
    }
    w.finish();
  }
  if (!finished) bytes.resize(bytes.size() - kFooterSize);  // as if the writer was killed
  CoreReader r(memory_source(bytes, "t"));
  EXPECT_EQ(r.state().has_footer, finished);
  InvariantChecker c(Isa::x86_64, r.state().has_footer);
  try {
    while (const Instruction* in = r.next()) c.check(*in);
    c.finish(r.tail_markers());
  } catch (const InvariantError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Invariants, APlausibleStreamHolds) {
  // jmp taken, jne taken to D, ret to anywhere, jne not taken to E, a REP
  // string split into instances, a second region, ended by the limit.
  EXPECT_EQ(check({kBegin, run(A), run(B), run(D), run(X), run(B), run(E), run(R), run(R), kEnd, kBegin, run(G),
                   kLimit}),
            "");
}

TEST(Invariants, RegionsPairUp) {
  EXPECT_EQ(check({kBegin, run(A), kBegin, run(B), kEnd}),
            "ROI_BEGIN before instruction 3 opens a region while the one begun before instruction 0 is still open");
  EXPECT_EQ(check({kBegin, run(A), kEnd, kEnd}), "ROI_END before instruction 3 closes no open region");
  EXPECT_EQ(check({kBegin, run(A), kEnd, kLimit}), "LIMIT_REACHED before instruction 3 closes no open region");
  EXPECT_EQ(check({run(A), kEnd}),
            "instruction 0 at 0x401000: retired outside a region (no open ROI_BEGIN before it)");
  EXPECT_EQ(check({kBegin, run(A), kEnd, run(B)}),
            "instruction 3 at 0x401014: retired outside a region (no open ROI_BEGIN before it)");
  EXPECT_EQ(check({kBegin, run(A)}),
            "the region begun before instruction 0 is never closed (no ROI_END or LIMIT_REACHED before the end "
            "of the file)");
  EXPECT_EQ(check({kBegin, run(A)}, /*finished=*/false), "");  // a cut-short file may stop anywhere
}

TEST(Invariants, WhatFollowsAnExecPartial) {
  // A's first instruction retired, then execution elsewhere with no marker.
  EXPECT_EQ(check({kBegin, run(A, 1), run(X), kEnd}),
            "instruction 0 at 0x401000: an EXEC_PARTIAL ends here, but the next instruction runs at 0x500000, not "
            "at its fall-through 0x401001, and no DISCONTINUITY, ROI_END or LIMIT_REACHED comes between");
  EXPECT_EQ(check({kBegin, run(A, 1), kDisc, run(X), kEnd}), "");           // an exception
  EXPECT_EQ(check({kBegin, run(A, 1), run(F), kEnd}), "");                  // an MMIO re-run: the fall-through
  EXPECT_EQ(check({kBegin, run(A, 2), kEnd}), "");                          // tracing stopped there
  EXPECT_EQ(check({kBegin, run(A, 2), kLimit}), "");
  EXPECT_EQ(check({kBegin, run(A), run(B), run(E), run(A, 2)}, true),
            "instruction 8 at 0x401001: an EXEC_PARTIAL ends the stream with no marker after it");
}

TEST(Invariants, ADirectBranchGoesToItsTargetOrFallThrough) {
  EXPECT_EQ(check({kBegin, run(A), run(X), kEnd}),
            "instruction 2 at 0x401002: direct branch 'jmp 0x401014' is followed by 0x500000, neither "
            "its target nor its fall-through, with no DISCONTINUITY marker between");
  EXPECT_EQ(check({kBegin, run(A), kDisc, run(X), kEnd}), "");  // an interrupt
  // jne is direct too: taken (D) and not taken (E) hold, elsewhere does not.
  EXPECT_EQ(check({kBegin, run(B), run(D), run(B), run(E), kEnd}), "");
  EXPECT_NE(check({kBegin, run(B), run(X), kEnd}).find("instruction 1 at 0x401015: direct branch"), std::string::npos);
}

TEST(Invariants, AnythingButABranchFallsThrough) {
  EXPECT_EQ(check({kBegin, run(G), run(X), kEnd}),
            "instruction 1 at 0x600001: 'nop' is no branch, yet the next instruction runs at 0x500000 "
            "(fall-through 0x600002) with no DISCONTINUITY marker between");
  EXPECT_EQ(check({kBegin, run(G), kDisc, run(X), kEnd}), "");
  EXPECT_EQ(check({kBegin, run(G), run(G), kEnd}).empty(), false);  // nop does not repeat itself
}
