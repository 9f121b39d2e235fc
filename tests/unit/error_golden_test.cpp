// Error goldens: hand-made inputs and the exact one-line error each must
// give. Every record check of the decoder (ChunkParser::fail and the chunk
// totals) has a payload here, laid out by hand from docs/trace-format.md;
// the file-level ones start from the golden tiny.qtr.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "format/bytes.h"
#include "format/chunk_codec.h"
#include "format/crc32.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

using namespace qemutrace;

namespace {

struct PayloadCase {
  const char* name;
  uint64_t features;
  uint64_t insns;    // header insn_count
  uint32_t records;  // header record_count
  std::vector<uint8_t> payload;
  const char* error;  // exact
};

// Building blocks (docs/trace-format.md, Records):
//   04 03            STATE cpl 3
//   01 00 01 01 90   DEFINE_BLOCK vaddr 0, 1 instruction of length 1 (nop)
#define STATE3 0x04, 0x03
#define BLOCK1 0x01, 0x00, 0x01, 0x01, 0x90
constexpr uint64_t P = feature::kPhysAddr, TS = feature::kTimestamps, L = feature::kLevel;

const std::vector<PayloadCase> kCases = {
    {"unknown_record_type", 0, 0, 1, {0x09}, "g at payload offset 0: unknown record type 0x09"},
    {"type_zero", 0, 0, 1, {0x00}, "g at payload offset 0: unknown record type 0x00"},
    {"state_cut_short", 0, 0, 1, {0x04}, "g at payload offset 1: record cut short"},
    {"varint_cut_short", TS, 0, 1, {0x06, 0x80}, "g at payload offset 1: varint cut short"},
    {"varint_overflow", TS, 0, 1, {0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
     "g at payload offset 1: varint overflows 64 bits"},
    {"exec_before_state", 0, 1, 2, {BLOCK1, 0x02, 0x00, 0x00}, "g at payload offset 5: EXEC before any STATE"},
    {"exec_undefined_block", 0, 1, 2, {STATE3, 0x02, 0x05, 0x00}, "g at payload offset 2: EXEC of undefined block 5"},
    {"partial_retired_all", 0, 2, 3, {STATE3, 0x01, 0x00, 0x02, 0x01, 0x90, 0x01, 0x90, 0x03, 0x00, 0x02, 0x00},
     "g at payload offset 9: EXEC_PARTIAL retired count 2 out of range"},
    {"partial_retired_zero", 0, 2, 3, {STATE3, 0x01, 0x00, 0x02, 0x01, 0x90, 0x01, 0x90, 0x03, 0x00, 0x00, 0x00},
     "g at payload offset 9: EXEC_PARTIAL retired count 0 out of range"},
    {"access_count_limit", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x81, 0x80, 0x80, 0x02},
     "g at payload offset 7: access count 4194305 out of range"},
    {"access_count_beyond_payload", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x05, 0x00, 0x00},
     "g at payload offset 7: access count 5 exceeds the payload"},
    {"more_instructions_than_header", 0, 0, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x00},
     "g: chunk holds at least 1 instructions, header says 0"},
    {"fewer_instructions_than_header", 0, 2, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x00},
     "g: chunk holds 1 instructions, header says 2"},
    {"record_count_differs", 0, 1, 9, {STATE3, BLOCK1, 0x02, 0x00, 0x00}, "g: chunk holds 3 records, header says 9"},
    {"record_after_successor", 0, 0, 2, {0x07, 0x00, STATE3}, "g at payload offset 2: record after SUCCESSOR"},
    {"block_of_no_instructions", 0, 0, 1, {0x01, 0x00, 0x00},
     "g at payload offset 0: block instruction count 0 out of range"},
    {"block_too_long", 0, 0, 1, {0x01, 0x00, 0x81, 0x20}, "g at payload offset 0: block instruction count 4097 out of range"},
    {"instruction_length_16", 0, 0, 1, {0x01, 0x00, 0x01, 0x10},
     "g at payload offset 0: instruction length 16 out of range"},
    {"instruction_length_0", 0, 0, 1, {0x01, 0x00, 0x01, 0x00},
     "g at payload offset 0: instruction length 0 out of range"},
    {"instruction_bytes_cut_short", 0, 0, 1, {0x01, 0x00, 0x01, 0x05, 0x90}, "g at payload offset 4: record cut short"},
    {"privilege_level_4", 0, 0, 1, {0x04, 0x04}, "g at payload offset 0: privilege level 4 out of range"},
    // With LEVEL: STATE cpl, level.
    {"level_cut_short", L, 0, 1, {0x04, 0x03}, "g at payload offset 2: record cut short"},
    {"level_privilege_3", L, 0, 1, {0x04, 0x03, 0x03}, "g at payload offset 0: level privilege 3 is undefined"},
    {"level_reserved_bit", L, 0, 1, {0x04, 0x00, 0x0a}, "g at payload offset 0: level has reserved bits set"},
    {"marker_kind_0", 0, 0, 1, {0x05, 0x00, 0x00, 0x00, 0x00}, "g at payload offset 0: unknown marker kind 0"},
    {"marker_kind_7", 0, 0, 1, {0x05, 0x07, 0x00, 0x00, 0x00}, "g at payload offset 0: unknown marker kind 7"},
    {"marker_source_10", 0, 0, 1, {0x05, 0x01, 0x0a, 0x00, 0x00}, "g at payload offset 0: unknown marker source 10"},
    {"marker_id_65536", 0, 0, 1, {0x05, 0x01, 0x00, 0x80, 0x80, 0x04, 0x00},
     "g at payload offset 0: marker id 65536 out of range"},
    {"timestamp_without_feature", 0, 0, 1, {0x06, 0x01},
     "g at payload offset 0: TIMESTAMP without the TIMESTAMPS feature"},
    // Accesses: STATE, BLOCK1, then EXEC block 0 with one access at offset 10.
    {"access_reserved_bit", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x80, 0x00},
     "g at payload offset 10: access tag has reserved bit set"},
    {"access_vmode_2", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x02, 0x00},
     "g at payload offset 10: access vmode 2 is invalid"},
    {"access_size_32", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x14, 0x00},
     "g at payload offset 10: access size_log2 5 out of range"},
    {"access_frame_without_phys", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x40, 0x00},
     "g at payload offset 10: physical frame without PHYS_ADDR"},
    {"access_beyond_retired", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x00, 0x01},
     "g at payload offset 10: access names instruction beyond the retired ones"},
    {"predicted_frame_unmapped", P, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x03, 0x00, 0x10},
     "g at payload offset 10: predicted physical frame has no mapping"},
    {"access_cut_short", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x02, 0x03, 0x00, 0x80, 0x01},
     "g at payload offset 14: record cut short"},
    {"access_address_cut_short", 0, 1, 3, {STATE3, BLOCK1, 0x02, 0x00, 0x01, 0x03, 0x00, 0x80},
     "g at payload offset 12: varint cut short"},
};

std::string decode_error(const PayloadCase& c) {
  static const std::string where = "g";
  detail::ChunkParser p;
  std::vector<Instruction> ins;
  std::vector<MemAccess> acc;
  try {
    p.start(c.payload.data(), c.payload.size(), c.features, kPageShift, 0, c.insns, c.records, &where);
    uint64_t index = 0;
    while (size_t n = p.decode(ins, acc, 256, 1024, index, 0)) index += n;
  } catch (const TraceError& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<uint8_t> tiny() {
  std::ifstream in(std::string(QEMUTRACE_SOURCE_DIR) + "/tests/golden/format/tiny.qtr", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string open_error(std::vector<uint8_t> bytes) {
  try {
    CoreReader r(memory_source(std::move(bytes), "f"));
  } catch (const TraceError& e) {
    return e.what();
  }
  return "(no error)";
}

// Sets header field bytes and fixes the header checksum.
std::vector<uint8_t> with_header(std::vector<uint8_t> b, size_t at, std::vector<uint8_t> v) {
  std::copy(v.begin(), v.end(), b.begin() + long(at));
  detail::put_u32(b.data() + 60, detail::crc32(b.data(), 60));
  return b;
}

}  // namespace

TEST(ErrorGolden, EveryRecordCheckGivesItsLine) {
  for (const PayloadCase& c : kCases) EXPECT_EQ(decode_error(c), c.error) << c.name;
}

TEST(ErrorGolden, TooManyBlocksInAChunk) {
  PayloadCase c{"too_many_blocks", 0, 0, 0, {}, "g at payload offset 5242880: too many blocks in chunk"};
  for (uint32_t i = 0; i <= kMaxBlocksPerChunk; i++) c.payload.insert(c.payload.end(), {BLOCK1});
  EXPECT_EQ(decode_error(c), c.error);
}

TEST(ErrorGolden, FileHeaders) {
  auto t = tiny();
  ASSERT_EQ(t.size(), 492u) << "tiny.qtr changed: recheck the offsets below";
  EXPECT_EQ(open_error({1, 2, 3}), "f: not a qemutrace file (shorter than its header)");
  auto magic = t;
  magic[1] = 'X';
  EXPECT_EQ(open_error(magic), "f: not a qemutrace file (bad magic)");
  EXPECT_EQ(open_error(with_header(t, 10, {3, 0})), "f: needs reader version 3, this reader is version 2");
  auto crc = t;
  crc[40] ^= 1;
  EXPECT_EQ(open_error(crc), "f: header checksum mismatch");
  EXPECT_EQ(open_error(with_header(t, 24, {4})), "f: unknown ISA 4");
  EXPECT_EQ(open_error(with_header(t, 25, {9})), "f: page shift 9 out of range");
}

// Bits 0..15 are required: one this reader does not know is refused.
// Bits 16..63 are optional hints: ignored.
TEST(ErrorGolden, UnknownRequiredFeatureBitsAreRefusedOptionalOnesIgnored) {
  auto t = tiny();
  const uint8_t known = t[16];  // tiny.qtr: PHYS_ADDR | KERNEL | ASID
  EXPECT_EQ(open_error(with_header(t, 16, {uint8_t(known | 0x80)})),
            "f: needs feature bit 7, which this reader (format version 2) does not know");
  EXPECT_EQ(open_error(with_header(t, 17, {0x80})),
            "f: needs feature bit 15, which this reader (format version 2) does not know");
  auto optional = with_header(t, 18, {0x01});  // bit 16
  EXPECT_EQ(open_error(optional), "(no error)");
  CoreReader r(memory_source(optional, "f"));
  uint64_t n = 0;
  while (r.next()) n++;
  EXPECT_EQ(n, 57u);
}

TEST(ErrorGolden, WriterRefusesFeatureBitsItDoesNotDefine) {
  std::vector<uint8_t> out;
  WriterOptions o;
  o.features = feature::kKernel | (uint64_t(1) << 7);
  BinaryCoreWriter w(std::make_unique<MemorySink>(&out, "w"), o, 0, nullptr);
  EXPECT_TRUE(w.failed());
  EXPECT_EQ(w.error(), "w: feature bits 0x80 are not defined by format version 2");
  EXPECT_TRUE(out.empty());
}
