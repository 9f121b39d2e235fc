// Golden files: the tiny checked-in traces under tests/golden/format must be
// reproduced byte for byte by the writer, and the payload of a one-block
// chunk is checked against bytes annotated by hand from docs/trace-format.md.
// QEMUTRACE_UPDATE_GOLDEN=1 rewrites the .qtr files (review the diff!).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "format/chunk_codec.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

using namespace qemutrace;

namespace {

uint64_t zero_clock() { return 0; }

std::string golden_path(const char* name) {
  return std::string(QEMUTRACE_SOURCE_DIR) + "/tests/golden/format/" + name;
}

// The tiny trace whose stats tests/cli/golden_format.sh knows by hand:
// core 0: ROI_BEGIN; user block A (4 insns at 0x401000, lengths 1,2,3,4)
// runs 10 times, its 2nd insn loading 8 bytes at 0x600000 + 64*i; kernel
// block B (3 insns at 0xffffffff81000000, lengths 5,5,5, ending in a return
// so that any successor is possible) runs 5 times, its
// 1st insn storing 4 bytes at 0xffff888000001000; a partial run of A (2
// insns) then DISCONTINUITY; ROI_END.
std::vector<uint8_t> make_tiny() {
  std::vector<uint8_t> out;
  WriterOptions o;
  o.features = feature::kPhysAddr | feature::kKernel | feature::kAsid;
  o.clock_ns = zero_clock;
  o.chunk_insns = 32;
  BinaryCoreWriter w(std::make_unique<MemorySink>(&out), o, 0, nullptr);
  StaticBlock a{0x401000, 0, 0, 4, {1, 2, 3, 4}, {0x90, 0x48, 0x8b, 0x31, 0xc0, 0x0f, 0x1f, 0x00, 0x75, 0xf6}};
  StaticBlock b{0xffffffff81000000ull, 0, 1, 3, {5, 5, 5},
                {0xb8, 1, 0, 0, 0, 0xb9, 2, 0, 0, 0, 0x3e, 0x3e, 0xc2, 0, 0}};  // mov, mov, ret 0
  w.marker(Marker{MarkerKind::RoiBegin, MarkerSource::MagicNop, 1, 0});
  w.set_context(3, 0x1234000);
  for (int i = 0; i < 10; i++) {
    w.begin_block(&a);
    w.access(1, 0x600000 + 64 * i, 0x7600000 + 64 * i, 3, false);
    w.end_block(4);
  }
  w.set_context(0, 0x1234000);
  for (int i = 0; i < 5; i++) {
    w.begin_block(&b);
    w.access(0, 0xffff888000001000ull, 0x1000, 2, true);
    w.end_block(3);
  }
  w.set_context(3, 0x1234000);
  w.begin_block(&a);
  w.access(1, 0x600000 + 64 * 10, 0x7600000 + 64 * 10, 3, false);
  w.end_block(2);
  w.marker(Marker{MarkerKind::Discontinuity, MarkerSource::Exception, 0, 0x401001});
  w.marker(Marker{MarkerKind::RoiEnd, MarkerSource::MagicNop, 1, 0});
  EXPECT_TRUE(w.finish());
  return out;
}

std::vector<uint8_t> read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(Golden, TinyTraceIsReproducedByteForByte) {
  auto bytes = make_tiny();
  if (std::getenv("QEMUTRACE_UPDATE_GOLDEN")) {
    std::ofstream(golden_path("tiny.qtr"), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  auto golden = read_file(golden_path("tiny.qtr"));
  ASSERT_FALSE(golden.empty()) << "missing " << golden_path("tiny.qtr");
  EXPECT_EQ(bytes, golden) << "the writer's output changed: if the format changed on purpose, bump "
                              "kFormatVersion, update docs/trace-format.md and regenerate the golden files";
}

TEST(Golden, TinyTraceReadsAsDescribed) {
  CoreReader r(memory_source(read_file(golden_path("tiny.qtr")), "tiny.qtr"));
  EXPECT_TRUE(r.state().has_footer);
  EXPECT_EQ(r.total_instructions(), 40u + 15u + 2u);
  // chunk_insns = 32: chunks close after the exec that reaches 32 instructions.
  ASSERT_EQ(r.chunks().size(), 2u);
  EXPECT_EQ(r.chunks()[0].insn_count, 32u);
  uint64_t n = 0;
  while (const Instruction* in = r.next()) {
    if (n < 40) {
      static const uint64_t pcs[] = {0x401000, 0x401001, 0x401003, 0x401006};
      EXPECT_EQ(in->pc, pcs[n % 4]);
      EXPECT_EQ(in->cpl, 3);
      EXPECT_EQ(in->access_count, n % 4 == 1 ? 1u : 0u);
      if (n % 4 == 1) {
        EXPECT_EQ(in->accesses[0].vaddr, 0x600000u + 64 * (n / 4));
        EXPECT_EQ(in->accesses[0].paddr, 0x7600000u + 64 * (n / 4));
      }
      if (n == 0) {
        ASSERT_EQ(in->marker_count, 1u);
        EXPECT_EQ(in->markers[0].kind, MarkerKind::RoiBegin);
      }
      // The 4th instruction is a conditional branch back to the block start.
      if (n % 4 == 3) {
        EXPECT_EQ(in->next_pc, n == 39 ? 0xffffffff81000000ull : 0x401000u);
      }
    } else if (n < 55) {
      EXPECT_EQ(in->cpl, 0);
      EXPECT_EQ(in->pc, 0xffffffff81000000ull + 5 * ((n - 40) % 3));
      EXPECT_EQ(in->asid, 0x1234000u);
      if ((n - 40) % 3 == 0) {
        ASSERT_EQ(in->access_count, 1u);
        EXPECT_TRUE(in->accesses[0].is_store);
        EXPECT_EQ(in->accesses[0].size, 4);
      }
    } else {
      EXPECT_EQ(in->pc, n == 55 ? 0x401000u : 0x401001u);
    }
    n++;
  }
  EXPECT_EQ(n, 57u);
  ASSERT_EQ(r.tail_markers().size(), 2u);
  EXPECT_EQ(r.tail_markers()[0].kind, MarkerKind::Discontinuity);
  EXPECT_EQ(r.tail_markers()[0].value, 0x401001u);
  EXPECT_EQ(r.tail_markers()[1].kind, MarkerKind::RoiEnd);
}

// One chunk, annotated byte by byte from the spec (not from the encoder).
TEST(Golden, AnnotatedChunkPayload) {
  detail::ChunkEncoder enc(feature::kPhysAddr | feature::kAsid);
  StaticBlock blk{0x1000, 0, 0, 2, {1, 2}, {0x90, 0x8b, 0x07}};
  enc.start(0, 0);
  enc.marker(Marker{MarkerKind::RoiBegin, MarkerSource::MagicNop, 300, 0});
  enc.set_context(3, 0x5000, level::kUser);
  detail::RawAccess a1{0x2000, 0x9000, 1, 3, false};
  enc.exec(blk, 2, &a1, 1);
  detail::RawAccess a2{0x2008, 0x9008, 1, 3, false};
  enc.exec(blk, 2, &a2, 1);
  detail::RawAccess a3{0x2010, 0x9010, 1, 3, true};
  enc.exec(blk, 1, &a3, 0);
  // Access 1: slot empty (last 0, stride 0) so prediction 0 misses; delta
  // 0x2000 zigzags to 0x4000 = varint 80 80 01 (3 bytes), absolute 0x2000 =
  // 80 40 (2 bytes), so vmode 3 (absolute) wins. Frame 9 is new: pmode 1.
  const std::vector<uint8_t> expect = {
      0x05, 0x01, 0x03, 0xAC, 0x02, 0x00,  // MARKER roi_begin, magic_nop, id 300, value 0
      0x04, 0x03, 0x80, 0xA0, 0x01,        // STATE cpl 3, asid 0x5000
      0x01, 0x80, 0x20, 0x02,              // DEFINE_BLOCK vaddr 0x1000, 2 insns
      0x01, 0x90,                          //   length 1: 90
      0x02, 0x8b, 0x07,                    //   length 2: 8b 07
      0x02, 0x00, 0x01,                    // EXEC block 0, 1 access
      0x4F, 0x01, 0x80, 0x40, 0x09,        //   tag 0x4F = vmode 3 | size_log2 3 << 2 | pmode 1 << 6;
                                           //   insn_delta 1; vaddr 0x2000; pframe 9
      0x02, 0x00, 0x01,                    // EXEC block 0, 1 access
      0x0D, 0x01, 0x10,                    //   tag 0x0D = vmode 1 | 3 << 2, frame predicted;
                                           //   insn_delta 1; vdelta +8 zigzag 16 (stride was 0x2000)
      0x03, 0x00, 0x01, 0x00,              // EXEC_PARTIAL block 0, retired 1, 0 accesses
  };
  EXPECT_EQ(enc.payload(), expect);
  EXPECT_EQ(enc.insn_count(), 5u);
  EXPECT_EQ(enc.record_count(), 6u);
}

// The STATE record with LEVEL, annotated from the spec: a Xen PV kernel at
// cpl 3 and Xen at cpl 0, then a level-2 user context.
TEST(Golden, AnnotatedLevelStates) {
  detail::ChunkEncoder enc(feature::kAsid | feature::kLevel);
  enc.start(0, 0);
  enc.set_context(3, 0x5000, level::kKernel);
  enc.set_context(0, 0x5000, level::kHypervisor);
  enc.set_context(3, 0x6000, level::kUser | level::kNested);
  enc.set_context(3, 0x6000, level::kUser | level::kNested);  // unchanged: no record
  const std::vector<uint8_t> expect = {
      0x04, 0x03, 0x00, 0x80, 0xA0, 0x01,  // STATE cpl 3, level kernel, asid 0x5000
      0x04, 0x00, 0x02, 0x80, 0xA0, 0x01,  // STATE cpl 0, level hypervisor
      0x04, 0x03, 0x05, 0x80, 0xC0, 0x01,  // STATE cpl 3, level user | nested (4), asid 0x6000
  };
  EXPECT_EQ(enc.payload(), expect);
  EXPECT_EQ(enc.record_count(), 3u);
}

// Old traces read unchanged: tiny_v1.qtr is tiny.qtr as format version 1
// wrote it (no LEVEL). It reads as the same stream, with the level the cpl
// implies (cpl 0 kernel, cpl 3 user, never hypervisor).
TEST(Golden, Version1TraceReadsAsBefore) {
  auto v1 = read_file(golden_path("tiny_v1.qtr"));
  ASSERT_EQ(v1.size(), 492u) << "missing or changed " << golden_path("tiny_v1.qtr");
  ASSERT_EQ(v1[8], 1) << "tiny_v1.qtr must stay a version 1 file";
  CoreReader old_r(memory_source(v1, "v1"));
  CoreReader new_r(memory_source(make_tiny(), "v2"));
  EXPECT_EQ(new_r.header().version, kFormatVersion);
  uint64_t n = 0, kernel = 0;
  while (const Instruction* a = old_r.next()) {
    const Instruction* b = new_r.next();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->pc, b->pc);
    EXPECT_EQ(a->cpl, b->cpl);
    EXPECT_EQ(a->level, b->level);
    EXPECT_EQ(a->is_kernel(), a->cpl == 0) << n;
    EXPECT_EQ(a->is_user(), a->cpl == 3) << n;
    EXPECT_FALSE(a->is_hypervisor());
    kernel += a->is_kernel();
    n++;
  }
  EXPECT_EQ(new_r.next(), nullptr);
  EXPECT_EQ(n, 57u);
  EXPECT_EQ(kernel, 15u);  // block B, 3 instructions, 5 times (make_tiny)
}
