// One golden file per feature set (tests/golden/format/features_*.qtr): the
// writer must reproduce each byte for byte, and the reader must return the
// event stream the builder kept on the side. Each file also shows its
// feature at work (values, timestamps, physical addresses, ...). The first
// and last chunk payloads of every file are the seeds of the payload fuzzer
// (tests/fuzz/payload_seeds). QEMUTRACE_UPDATE_GOLDEN=1 rewrites both.
#include <gtest/gtest.h>
#include <zstd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>

#include "format/bytes.h"
#include "trace_builder.h"

using namespace qemutrace;
using qemutrace::test::BuilderOptions;
using qemutrace::test::TraceBuilder;

namespace {

uint64_t g_now = 0;
uint64_t stepping_clock() { return g_now += 997; }  // reproducible, always advancing

struct FeatureSet {
  const char* name;
  uint64_t features;
};
const FeatureSet kSets[] = {
    {"none", 0},
    {"phys_addr", feature::kPhysAddr},
    {"values", feature::kValues},
    {"kernel", feature::kKernel},
    {"asid", feature::kAsid},
    {"timestamps", feature::kTimestamps},
    {"phys_pc", feature::kPhysPc},
    {"level", feature::kLevel},
    {"all", feature::kKnownMask},
};

// 17000 instructions in two chunks, the first long enough to hold a TIMESTAMP:
// two loops of user code with strided loads and stores of every size, a
// kernel block under another address space, a partial execution and markers;
// now and then a hypervisor block at cpl 0, then the kernel at cpl 3 and a
// nested user block (as under Xen PV and a level-2 guest): with LEVEL they
// read back as such, without it as the cpl says.
struct Built {
  std::vector<uint8_t> bytes;
  std::vector<test::ExpectedInsn> expected;
  std::vector<Marker> tail;
};
constexpr uint64_t kPhysPcOffset = 0x7000000;

Built build(uint64_t features) {
  g_now = 0;
  BuilderOptions o;
  o.chunk_insns = 16400;  // a writer's TIMESTAMP is due 16384 instructions into a chunk
  o.seed = 42;
  o.clock_ns = stepping_clock;
  TraceBuilder tb(features, o);
  const StaticBlock* loop = tb.block(0x401000, 6);
  const StaticBlock* body = tb.block(0x402000, 3);
  const StaticBlock* kern = tb.block(0xffffffff81000000ull, 4);
  const StaticBlock* hyp = tb.block(0xffff82d040200000ull, 2);
  for (const StaticBlock* b : {loop, body, kern, hyp}) const_cast<StaticBlock*>(b)->paddr = b->vaddr + kPhysPcOffset;
  tb.marker(Marker{MarkerKind::RoiBegin, MarkerSource::MagicNop, 1, 0});
  tb.context(3, 0x1234000);
  uint64_t n = 0, i = 0;
  auto strided = [&](uint64_t base) {
    return [&, base](uint32_t insn, unsigned k, MemAccess* a) {
      if (insn % 2 || k >= 1 + insn / 2) return false;
      a->vaddr = base + 64 * i + 8 * k + 16 * insn;
      a->paddr = (a->vaddr & 0xfff) | ((0x7600 + ((a->vaddr >> 12) & 0xff)) << 12);
      a->size = uint8_t(1u << ((insn + k) % 5));
      a->is_store = k % 2;
      a->value_lo = 0x1111111111111111ull * (k + 1) + i;
      a->value_hi = a->size == 16 ? ~a->value_lo : 0;
      return true;
    };
  };
  while (n < 17000) {
    tb.exec(loop, 6, strided(0x600000));
    tb.exec(body, 3, strided(0x7ffe0000));
    n += 9;
    if (++i % 100 == 0) {
      tb.context(0, 0x5678000);
      tb.exec(kern, 4, strided(0xffff888000001000ull));
      tb.context(3, 0x1234000);
      n += 4;
    }
    if (i % 300 == 0) {
      tb.context(0, 0x5678000, level::kHypervisor);
      tb.exec(hyp, 2, strided(0xffff830000002000ull));
      tb.context(3, 0x5678000, level::kKernel);
      tb.exec(kern, 4, strided(0xffff888000001000ull));
      tb.context(3, 0x1234000, level::kUser | level::kNested);
      tb.exec(body, 3, strided(0x7ffe0000));
      tb.context(3, 0x1234000);
      n += 9;
    }
  }
  tb.exec(loop, 2, strided(0x600000));
  tb.marker(Marker{MarkerKind::Discontinuity, MarkerSource::Exception, 0, uint64_t(0x401000 + loop->lengths[0])});
  tb.marker(Marker{MarkerKind::RoiEnd, MarkerSource::MagicNop, 1, 0});
  Built out;
  out.bytes = tb.finish();
  out.expected = tb.expected;
  out.tail = tb.tail_markers;
  return out;
}

std::string golden(const std::string& name) { return std::string(QEMUTRACE_SOURCE_DIR) + "/tests/golden/format/" + name; }
std::string seed_path(const std::string& name) {
  return std::string(QEMUTRACE_SOURCE_DIR) + "/tests/fuzz/payload_seeds/" + name;
}
std::vector<uint8_t> slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spill(const std::string& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

}  // namespace

class FeatureGolden : public ::testing::TestWithParam<FeatureSet> {};

TEST_P(FeatureGolden, WriterReproducesTheFileByteForByte) {
  const FeatureSet& f = GetParam();
  Built b = build(f.features);
  const std::string path = golden(std::string("features_") + f.name + ".qtr");
  if (std::getenv("QEMUTRACE_UPDATE_GOLDEN")) spill(path, b.bytes);
  auto want = slurp(path);
  ASSERT_FALSE(want.empty()) << "missing " << path;
  EXPECT_TRUE(b.bytes == want) << path << ": the writer's output changed: if the format changed on purpose, bump "
                                  "kFormatVersion, update docs/trace-format.md and regenerate the golden files";
}

TEST_P(FeatureGolden, ReaderReturnsWhatWasWrittenAndTheFeatureShows) {
  const FeatureSet& f = GetParam();
  Built b = build(f.features);
  CoreReader r(memory_source(slurp(golden(std::string("features_") + f.name + ".qtr")), f.name));
  ASSERT_TRUE(r.state().has_footer);
  EXPECT_EQ(r.header().features, f.features);
  ASSERT_EQ(r.total_instructions(), b.expected.size());
  EXPECT_EQ(r.chunks().size(), 2u);
  std::set<uint64_t> chunk_start;
  for (const ChunkInfo& c : r.chunks()) chunk_start.insert(c.first_insn);
  uint64_t hypervisor = 0, nested = 0, pv_kernel = 0;
  uint64_t n = 0, kernel = 0, with_values = 0, phys = 0, phys_pc = 0, time_moves = 0, asids = 0, prev_time = 0;
  while (const Instruction* in = r.next()) {
    ASSERT_LT(n, b.expected.size());
    const test::ExpectedInsn& e = b.expected[n];
    ASSERT_EQ(in->pc, e.pc) << n;
    ASSERT_EQ(in->length, e.length) << n;
    ASSERT_EQ(std::vector<uint8_t>(in->bytes, in->bytes + in->length), e.bytes) << n;
    ASSERT_EQ(in->cpl, e.cpl) << n;
    ASSERT_EQ(int(in->level), int(e.level)) << n;
    ASSERT_EQ(in->asid, e.asid) << n;
    ASSERT_EQ(in->access_count, e.accesses.size()) << n;
    for (size_t k = 0; k < e.accesses.size(); k++) {
      const MemAccess &x = in->accesses[k], &y = e.accesses[k];
      ASSERT_EQ(x.vaddr, y.vaddr) << n;
      ASSERT_EQ(x.paddr, y.paddr) << n;
      ASSERT_EQ(x.size, y.size) << n;
      ASSERT_EQ(x.is_store, y.is_store) << n;
      ASSERT_EQ(x.value_lo, y.value_lo) << n;
      ASSERT_EQ(x.value_hi, y.value_hi) << n;
      with_values += x.value_lo != 0;
      phys += x.paddr != 0;
    }
    ASSERT_EQ(in->marker_count, e.markers.size()) << n;
    kernel += in->cpl == 0;
    hypervisor += in->is_hypervisor();
    nested += in->is_nested();
    pv_kernel += in->cpl == 3 && in->is_kernel();
    asids += in->asid != 0;
    phys_pc += in->phys_pc == in->pc + kPhysPcOffset;
    // Chunk headers carry a time of their own; only TIMESTAMP records move it inside a chunk.
    time_moves += !chunk_start.count(n) && in->time_ns != prev_time;
    prev_time = in->time_ns;
    n++;
  }
  EXPECT_EQ(n, b.expected.size());
  ASSERT_EQ(r.tail_markers().size(), 2u);
  EXPECT_EQ(r.tail_markers()[1].kind, MarkerKind::RoiEnd);
  // Each feature leaves its trace, and only with the feature.
  EXPECT_EQ(with_values > 0, bool(f.features & feature::kValues));
  EXPECT_EQ(phys > 0, bool(f.features & feature::kPhysAddr));
  EXPECT_EQ(asids > 0, bool(f.features & feature::kAsid));
  EXPECT_EQ(phys_pc == n, bool(f.features & feature::kPhysPc));
  EXPECT_EQ(time_moves > 0, bool(f.features & feature::kTimestamps));
  EXPECT_EQ(hypervisor > 0, bool(f.features & feature::kLevel));
  EXPECT_EQ(nested > 0, bool(f.features & feature::kLevel));
  EXPECT_EQ(pv_kernel > 0, bool(f.features & feature::kLevel));
  EXPECT_GT(kernel, 0u);  // cpl is always recorded; KERNEL only says kernel code may be present
}

// The payload fuzzer's seeds: [features u8][insn_count u32][record_count u32]
// then the decompressed payload: every file's last (short) chunk, and the
// first chunk of the timestamps file, which holds a TIMESTAMP record.
TEST_P(FeatureGolden, PayloadSeedsAreTheFilesChunks) {
  const FeatureSet& f = GetParam();
  auto file = slurp(golden(std::string("features_") + f.name + ".qtr"));
  CoreReader r(memory_source(file, f.name));
  ASSERT_EQ(r.chunks().size(), 2u);
  std::vector<size_t> chunks = {r.chunks().size() - 1};
  if (f.features == feature::kTimestamps) chunks.push_back(0);
  for (size_t which : chunks) {
    const ChunkInfo& c = r.chunks()[which];
    std::vector<uint8_t> seed(9 + c.raw_size);
    seed[0] = uint8_t(f.features);
    detail::put_u32(seed.data() + 1, uint32_t(c.insn_count));
    detail::put_u32(seed.data() + 5, detail::get_u32(file.data() + c.offset + 44));
    size_t got = ZSTD_decompress(seed.data() + 9, c.raw_size, file.data() + c.offset + kChunkHeaderSize,
                                 c.compressed_size);
    ASSERT_EQ(got, c.raw_size);
    const std::string path = seed_path(std::string(f.name) + (which ? "_last" : "_first") + ".bin");
    SCOPED_TRACE(path);
    if (std::getenv("QEMUTRACE_UPDATE_GOLDEN")) spill(path, seed);
    EXPECT_TRUE(slurp(path) == seed) << path << " is not chunk " << which << " of the golden file";
  }
}

INSTANTIATE_TEST_SUITE_P(EverySet, FeatureGolden, ::testing::ValuesIn(kSets),
                         [](const ::testing::TestParamInfo<FeatureSet>& i) { return std::string(i.param.name); });
