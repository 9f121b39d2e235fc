// The binary format: spec-level checks, round trips, truncation, corruption.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "format/bytes.h"
#include "format/chunk_codec.h"
#include "format/crc32.h"
#include "trace_builder.h"

using namespace qemutrace;
using qemutrace::test::BuilderOptions;
using qemutrace::test::ExpectedInsn;
using qemutrace::test::TraceBuilder;

namespace {

constexpr uint64_t kAllFeatures = feature::kPhysAddr | feature::kValues | feature::kKernel |
                                  feature::kAsid | feature::kTimestamps | feature::kLevel;


// Random stream: loops, strided and random accesses, context switches,
// partial blocks and markers.
TraceBuilder random_trace(uint64_t features, uint64_t seed, int execs, uint32_t chunk = 500,
                          BuilderOptions o = {}) {
  o.chunk_insns = chunk;
  o.seed = seed;
  TraceBuilder tb(features, o);
  auto& rng = tb.rng_;
  std::vector<const StaticBlock*> blocks;
  for (int i = 0; i < 40; i++) blocks.push_back(tb.block(0x400000 + 0x100 * i, 1 + rng() % 12));
  tb.context(3, 0x1000);
  uint64_t stride_base = 0x7fff0000;
  for (int e = 0; e < execs; e++) {
    if (rng() % 50 == 0) {
      // Any level with any cpl: a Xen PV kernel runs at cpl 3, Xen at 0.
      uint8_t cpl = uint8_t(rng() % 2 ? 0 : 3);
      uint64_t asid = (rng() % 4) << 12;
      uint8_t lv = uint8_t(rng() % 3) | (rng() % 4 == 0 ? level::kNested : 0);
      tb.context(cpl, asid, lv);
    }
    if (rng() % 40 == 0)
      tb.marker(Marker{MarkerKind(1 + rng() % kMaxMarkerKind), MarkerSource(rng() % (kMaxMarkerSource + 1)),
                       uint16_t(rng()), rng() % 1000});
    const StaticBlock* b = blocks[rng() % blocks.size()];
    uint32_t retired = rng() % 10 == 0 ? uint32_t(rng() % b->insn_count) : b->insn_count;
    stride_base += 64;
    tb.exec(b, retired, [&](uint32_t insn, unsigned k, MemAccess* a) {
      if (k >= (insn % 3 == 0 ? 1 + rng() % 6 : 0)) return false;
      uint64_t v = rng() % 3 == 0 ? rng() : stride_base + 8 * k;
      a->vaddr = v;
      a->paddr = (rng() % 5 == 0 ? rng() % 0x100000 : (v >> 12) & 0xffff) << 12 | (v & 0xfff);
      a->size = uint8_t(1u << (rng() % 5));
      a->is_store = rng() % 2;
      a->value_lo = rng();
      a->value_hi = a->size == 16 ? rng() : 0;
      return true;
    });
  }
  return tb;
}

void expect_same(const ExpectedInsn& e, const Instruction& in, uint64_t index) {
  ASSERT_EQ(in.index, index);
  ASSERT_EQ(in.pc, e.pc) << "index " << index;
  ASSERT_EQ(in.length, e.length);
  ASSERT_EQ(std::vector<uint8_t>(in.bytes, in.bytes + in.length), e.bytes);
  ASSERT_EQ(in.cpl, e.cpl);
  ASSERT_EQ(int(in.level), int(e.level)) << "index " << index;
  ASSERT_EQ(in.asid, e.asid);
  ASSERT_EQ(in.access_count, e.accesses.size()) << "index " << index;
  for (size_t i = 0; i < e.accesses.size(); i++) {
    const MemAccess &x = in.accesses[i], &y = e.accesses[i];
    ASSERT_EQ(x.vaddr, y.vaddr) << "index " << index << " access " << i;
    ASSERT_EQ(x.paddr, y.paddr);
    ASSERT_EQ(x.size, y.size);
    ASSERT_EQ(x.is_store, y.is_store);
    ASSERT_EQ(x.value_lo, y.value_lo);
    ASSERT_EQ(x.value_hi, y.value_hi);
  }
  ASSERT_EQ(in.marker_count, e.markers.size()) << "index " << index;
  for (size_t i = 0; i < e.markers.size(); i++) {
    ASSERT_EQ(in.markers[i].kind, e.markers[i].kind);
    ASSERT_EQ(in.markers[i].source, e.markers[i].source);
    ASSERT_EQ(in.markers[i].id, e.markers[i].id);
    ASSERT_EQ(in.markers[i].value, e.markers[i].value);
  }
}

// Reads everything; returns the instructions seen (checked against tb).
uint64_t read_all_and_check(const std::vector<uint8_t>& bytes, const TraceBuilder& tb) {
  CoreReader r(memory_source(bytes, "t"));
  uint64_t n = 0;
  while (const Instruction* in = r.next()) {
    EXPECT_LT(n, tb.expected.size());
    if (n >= tb.expected.size()) break;
    expect_same(tb.expected[n], *in, n);
    uint64_t want_next = n + 1 < tb.expected.size() ? tb.expected[n + 1].pc : 0;
    // The last instruction of a chunk closed by flush/finish has no successor.
    if (in->next_pc != 0) {
      EXPECT_EQ(in->next_pc, want_next) << "index " << n;
    }
    n++;
  }
  return n;
}

}  // namespace

TEST(Crc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(detail::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(detail::crc32("", 0), 0u);
  // Streaming gives the same result as one call.
  EXPECT_EQ(detail::crc32("6789", 4, detail::crc32("12345", 5)), 0xCBF43926u);
}

TEST(Varint, EncodesLeb128) {
  std::vector<uint8_t> out;
  size_t len = 0;
  {
    detail::ByteWriter w(&out, &len, 64);
    w.varint(300);
    w.varint(0);
    w.varint(UINT64_MAX);
    w.svarint(-1);
    w.svarint(1);
  }
  out.resize(len);
  std::vector<uint8_t> want = {0xAC, 0x02, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x01, 0x02};
  EXPECT_EQ(out, want);
}

// varint_size must be the length varint() writes (the encoder picks address
// modes by it); every 7-bit boundary from 0 to 2^64-1.
TEST(Varint, SizeIsTheEncodedLength) {
  std::vector<uint64_t> values = {0, 1, UINT64_MAX};
  for (unsigned b = 7; b < 64; b += 7) {
    uint64_t edge = uint64_t(1) << b;
    values.insert(values.end(), {edge - 1, edge, edge + 1});
  }
  for (uint64_t v : values) {
    std::vector<uint8_t> out;
    size_t len = 0;
    detail::ByteWriter(&out, &len, 16).varint(v);
    EXPECT_EQ(detail::varint_size(v), len) << v;
  }
}

TEST(RoundTrip, RandomStreamsAllFeatureSets) {
  for (uint64_t features : {uint64_t(0), kAllFeatures, feature::kPhysAddr | feature::kAsid,
                            feature::kValues | feature::kTimestamps, feature::kLevel}) {
    for (uint64_t seed = 1; seed <= 4; seed++) {
      TraceBuilder tb = random_trace(features, seed, 3000);
      auto bytes = tb.finish();
      SCOPED_TRACE("features " + std::to_string(features) + " seed " + std::to_string(seed));
      EXPECT_EQ(read_all_and_check(bytes, tb), tb.expected.size());
      CoreReader r(memory_source(bytes, "t"));
      EXPECT_TRUE(r.state().has_footer);
      EXPECT_TRUE(r.state().damage.empty());
      EXPECT_EQ(r.total_instructions(), tb.expected.size());
      EXPECT_GT(r.chunks().size(), 3u);
      EXPECT_EQ(r.header().core, 3);
      EXPECT_EQ(r.header().features, features);
      // The writer's own counts (the manifest's) against the builder's list.
      uint64_t kernel = 0, hypervisor = 0, nested = 0, loads = 0, stores = 0;
      for (const auto& e : tb.expected) {
        // Without LEVEL the kernel is cpl 0; with it, whom the stream named.
        kernel += (features & feature::kLevel) ? level::privilege(e.level) == level::kKernel : e.cpl == 0;
        hypervisor += level::privilege(e.level) == level::kHypervisor;
        nested += (e.level & level::kNested) != 0;
        for (const auto& a : e.accesses) (a.is_store ? stores : loads)++;
      }
      CoreTotals t = tb.totals();
      EXPECT_EQ(t.instructions, tb.expected.size());
      EXPECT_GT(kernel, 0u);
      EXPECT_LT(kernel, tb.expected.size());
      EXPECT_EQ(t.kernel_instructions, kernel);
      EXPECT_EQ(t.hypervisor_instructions, hypervisor);
      EXPECT_EQ(t.nested_instructions, nested);
      EXPECT_EQ(hypervisor > 0, bool(features & feature::kLevel));
      EXPECT_EQ(nested > 0, bool(features & feature::kLevel));
      EXPECT_EQ(t.loads, loads);
      EXPECT_EQ(t.stores, stores);
    }
  }
}

// Absolute addresses, strides and frames whose varints take every length
// from 1 to 10 bytes, in and out of the last bytes of a payload (the decoder
// reads accesses without per-byte bound checks when the payload has room for
// the longest ones): 7-instruction chunks put many executions near a payload's
// end, 1000-instruction ones put most far from it.
TEST(RoundTrip, VarintsOfEveryLength) {
  for (uint64_t features : {kAllFeatures, feature::kPhysAddr, uint64_t(0)})
  for (uint32_t chunk : {7u, 1000u}) {
    TraceBuilder tb(features, chunk);
    tb.context(3, 0x1000);
    const StaticBlock* b = tb.block(0x401000, 2);
    for (int e = 0; e < 400; e++) {
      tb.exec(b, 2, [&](uint32_t insn, unsigned k, MemAccess* a) {
        if (k >= 1 + insn) return false;
        unsigned bits = 1 + unsigned(e * 7 + k * 3 + insn) % 64;  // 1..64 significant bits
        a->vaddr = (bits == 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1) ^ uint64_t(e % 3);
        a->paddr = (uint64_t(e % 29) << (12 + (e % 40))) | (a->vaddr & 0xfff);
        a->size = uint8_t(1u << (k + insn + e) % 5);
        a->is_store = (e + k) % 2;
        a->value_lo = a->vaddr * 3;
        a->value_hi = a->size == 16 ? ~a->vaddr : 0;
        return true;
      });
    }
    auto bytes = tb.finish();
    SCOPED_TRACE("features " + std::to_string(features) + " chunk " + std::to_string(chunk));
    EXPECT_EQ(read_all_and_check(bytes, tb), tb.expected.size());
    EXPECT_EQ(tb.expected.size(), 800u);
  }
}

TEST(RoundTrip, TailMarkersAfterTheLastInstruction) {
  TraceBuilder tb(kAllFeatures);
  const StaticBlock* b = tb.block(0x1000, 3);
  tb.context(0, 0x5000);
  tb.marker(Marker{MarkerKind::RoiBegin, MarkerSource::MagicNop, 7, 0});
  tb.exec(b, 3, [](uint32_t, unsigned, MemAccess*) { return false; });
  tb.marker(Marker{MarkerKind::RoiEnd, MarkerSource::MagicNop, 7, 0});
  auto bytes = tb.finish();
  CoreReader r(memory_source(bytes, "t"));
  const Instruction* in = r.next();
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(in->marker_count, 1u);
  EXPECT_EQ(in->markers[0].kind, MarkerKind::RoiBegin);
  EXPECT_EQ(in->markers[0].id, 7);
  EXPECT_EQ(in->cpl, 0);
  EXPECT_EQ(in->asid, 0x5000u);
  r.next();
  r.next();
  EXPECT_EQ(r.next(), nullptr);
  ASSERT_EQ(r.tail_markers().size(), 1u);
  EXPECT_EQ(r.tail_markers()[0].kind, MarkerKind::RoiEnd);
}

TEST(RoundTrip, MarkersSurviveAFlushBetweenChunks) {
  TraceBuilder tb(kAllFeatures, 1000);
  const StaticBlock* b = tb.block(0x1000, 2);
  tb.context(3, 0);
  tb.exec(b, 2, [](uint32_t, unsigned, MemAccess*) { return false; });
  tb.marker(Marker{MarkerKind::RoiEnd, MarkerSource::Console, 0, 0});
  tb.exec(b, 2, [](uint32_t, unsigned, MemAccess*) { return false; });
  auto bytes = tb.finish();
  EXPECT_EQ(read_all_and_check(bytes, tb), 4u);
}

static StaticBlock three_nops(uint64_t vaddr) {
  StaticBlock b;
  b.vaddr = vaddr;
  b.insn_count = 3;
  b.lengths = {1, 1, 1};
  b.bytes = {0x90, 0x90, 0x90};
  return b;
}

// The tracer may report a block's accesses out of program order; the writer
// restores the order, keeps each value with its access, and drops accesses of
// instructions that did not retire.
TEST(Writer, SortsOutOfOrderAccessesWithTheirValues) {
  std::vector<uint8_t> bytes;
  WriterOptions o;
  o.features = kAllFeatures;
  StaticBlock b = three_nops(0x4000);
  {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&bytes), o, 0, nullptr);
    w.set_context(3, 0x1000);
    w.begin_block(&b);
    w.access(2, 0x8000, 0x18000, 3, true, 0x22, 0);
    w.access(0, 0x9000, 0x19000, 2, false, 0x11, 0);
    w.access(1, 0xa000, 0x1a000, 4, false, 0x33, 0x44);
    w.access(2, 0x8008, 0x18008, 3, false, 0x55, 0);
    w.end_block(2);  // instruction 2 did not retire
    ASSERT_TRUE(w.finish());
  }
  CoreReader r(memory_source(bytes, "t"));
  const Instruction* in = r.next();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->access_count, 1u);
  EXPECT_EQ(in->accesses[0].vaddr, 0x9000u);
  EXPECT_EQ(in->accesses[0].value_lo, 0x11u);
  in = r.next();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->access_count, 1u);
  EXPECT_EQ(in->accesses[0].vaddr, 0xa000u);
  EXPECT_EQ(in->accesses[0].paddr, 0x1a000u);
  EXPECT_EQ(in->accesses[0].value_lo, 0x33u);
  EXPECT_EQ(in->accesses[0].value_hi, 0x44u);
  EXPECT_EQ(r.next(), nullptr);
}

// An access by an instruction the block does not have belongs to no
// instruction: a whole execution drops it as a partial one drops those of
// instructions that did not retire (the index saturates in memory, so that
// 2^16 + 1 does not become 1). Physical addresses of 56 bits come back whole.
TEST(Writer, DropsAccessesOfInstructionsBeyondTheBlock) {
  std::vector<uint8_t> bytes;
  WriterOptions o;
  o.features = feature::kPhysAddr;
  StaticBlock b = three_nops(0x4000);
  {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&bytes), o, 0, nullptr);
    w.set_context(0, 0);
    w.begin_block(&b);
    w.access(65537, 0x7000, 0x17000, 3, false);
    w.access(1, 0x9abc, 0xffffffffff9abcull, 2, true);
    w.access(3, 0x8000, 0x18000, 3, true);
    w.end_block(3);
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(w.totals().loads, 0u);
    EXPECT_EQ(w.totals().stores, 1u);
  }
  CoreReader r(memory_source(bytes, "t"));
  const Instruction* in = r.next();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->access_count, 0u);
  in = r.next();
  ASSERT_TRUE(in);
  ASSERT_EQ(in->access_count, 1u);
  EXPECT_EQ(in->accesses[0].vaddr, 0x9abcu);
  EXPECT_EQ(in->accesses[0].paddr, 0xffffffffff9abcull);
  EXPECT_TRUE(in->accesses[0].is_store);
  in = r.next();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->access_count, 0u);
  EXPECT_EQ(r.next(), nullptr);
}

// The fast path (append_access, chain_block into lent buffer windows) must
// write exactly the bytes of the virtual calls: chunks closed by instruction
// count, by the raw byte limit, and streams long enough to exhaust windows
// and cross timestamps.
TEST(FastPath, SameBytesAsTheVirtualCalls) {
  struct Shape {
    uint32_t chunk, raw_bytes;
    int execs;
  };
  for (Shape sh : {Shape{500, 16u << 20, 3000}, Shape{1u << 20, 4096, 3000}, Shape{1u << 20, 16u << 20, 120000}}) {
    for (uint64_t features : {uint64_t(0), kAllFeatures, feature::kPhysAddr | feature::kAsid | feature::kTimestamps}) {
      for (uint64_t seed = 1; seed <= 2; seed++) {
        SCOPED_TRACE("chunk " + std::to_string(sh.chunk) + " raw " + std::to_string(sh.raw_bytes) + " features " +
                     std::to_string(features) + " seed " + std::to_string(seed));
        BuilderOptions o;
        o.chunk_raw_bytes = sh.raw_bytes;
        o.fixed_clock = true;
        TraceBuilder slow = random_trace(features, seed, sh.execs, sh.chunk, o);
        o.fast_path = true;
        TraceBuilder fast = random_trace(features, seed, sh.execs, sh.chunk, o);
        auto want = slow.finish();
        auto got = fast.finish();
        EXPECT_EQ(got.size(), want.size());
        EXPECT_TRUE(got == want);
        EXPECT_EQ(read_all_and_check(got, fast), fast.expected.size());
        CoreTotals a = slow.totals(), b = fast.totals();
        EXPECT_EQ(b.instructions, a.instructions);
        EXPECT_EQ(b.kernel_instructions, a.kernel_instructions);
        EXPECT_EQ(b.loads, a.loads);
        EXPECT_EQ(b.stores, a.stores);
        if (sh.raw_bytes == 4096) {
          EXPECT_GT(CoreReader(memory_source(got, "t")).chunks().size(), 20u);
        }
      }
    }
  }
}

// Every access of a trace as index * 0x100000 + vaddr; *count: instructions.
static std::vector<uint64_t> accesses_by_index(const std::vector<uint8_t>& bytes, uint64_t* count) {
  CoreReader r(memory_source(bytes, "t"));
  std::vector<uint64_t> got;
  *count = 0;
  for (; const Instruction* in = r.next(); ++*count)
    for (uint32_t i = 0; i < in->access_count; i++) got.push_back(in->index * 0x100000 + in->accesses[i].vaddr);
  return got;
}

// A writer (physical addresses) with one execution of `b` done, so that its
// chunk and context exist, and `b` open again: its windows are lent.
static std::unique_ptr<BinaryCoreWriter> writer_lending(std::vector<uint8_t>* bytes, const StaticBlock* b) {
  WriterOptions o;
  o.features = feature::kPhysAddr;
  auto w = std::make_unique<BinaryCoreWriter>(std::make_unique<MemorySink>(bytes), o, 0, nullptr);
  w->set_context(3, 0x1000);
  w->begin_block(b);
  w->end_block(3);
  w->begin_block(b);
  return w;
}

// chain_block does not look at access order: the compression side restores it.
TEST(FastPath, OutOfOrderAccessesComeOutInProgramOrder) {
  std::vector<uint8_t> bytes;
  StaticBlock b = three_nops(0x4000);
  {
    auto wp = writer_lending(&bytes, &b);
    BinaryCoreWriter& w = *wp;
    append_access(w, lent_window_of(w), 2, 0x8000, 0x18000, 3, true);
    append_access(w, lent_window_of(w), 0, 0x9000, 0x19000, 2, false);
    append_access(w, lent_window_of(w), 1, 0xa000, 0x1a000, 4, false);
    EXPECT_FALSE(w.failed());
    chain_block(w, lent_window_of(w), 3, &b);
    w.end_block(1);
    ASSERT_TRUE(w.finish());
  }
  uint64_t n = 0;
  std::vector<uint64_t> want = {3 * 0x100000 + 0x9000, 4 * 0x100000 + 0xa000, 5 * 0x100000 + 0x8000};
  EXPECT_EQ(accesses_by_index(bytes, &n), want);
  EXPECT_EQ(n, 7u);
}

// chain_block(n, nullptr) leaves no block open, as next_block does: what
// follows until the next block is dropped, on the fast path too.
TEST(FastPath, ChainingIntoNoBlockDropsWhatFollows) {
  std::vector<uint8_t> bytes;
  StaticBlock b = three_nops(0x4000);
  {
    auto wp = writer_lending(&bytes, &b);
    BinaryCoreWriter& w = *wp;
    append_access(w, lent_window_of(w), 0, 0x9000, 0x19000, 3, false);
    chain_block(w, lent_window_of(w), 3, nullptr);
    EXPECT_FALSE(w.in_block());
    EXPECT_EQ(w.totals().instructions, 6u);  // live status sees fast-path executions
    append_access(w, lent_window_of(w), 1, 0xdead000, 0x1dead000, 3, false);
    chain_block(w, lent_window_of(w), 2, &b);
    append_access(w, lent_window_of(w), 2, 0xa000, 0x1a000, 3, true);
    w.end_block(3);
    ASSERT_TRUE(w.finish());
  }
  uint64_t n = 0;
  std::vector<uint64_t> want = {3 * 0x100000 + 0x9000, 8 * 0x100000 + 0xa000};
  EXPECT_EQ(accesses_by_index(bytes, &n), want);
  EXPECT_EQ(n, 9u);
}

TEST(Seek, LandsOnTheRequestedInstruction) {
  TraceBuilder tb = random_trace(kAllFeatures, 9, 4000, 300);
  auto bytes = tb.finish();
  CoreReader r(memory_source(bytes, "t"));
  for (uint64_t target : {uint64_t(0), uint64_t(1), uint64_t(299), uint64_t(300), uint64_t(301),
                          uint64_t(tb.expected.size() / 2), uint64_t(tb.expected.size() - 1)}) {
    r.seek(target);
    const Instruction* in = r.next();
    ASSERT_NE(in, nullptr) << target;
    EXPECT_EQ(in->index, target);
    EXPECT_EQ(in->pc, tb.expected[target].pc);
    EXPECT_EQ(in->access_count, tb.expected[target].accesses.size());
  }
  r.seek(tb.expected.size());
  EXPECT_EQ(r.next(), nullptr);
}

TEST(Prediction, StridedLoopCostsAboutABytePerAccessRaw) {
  // A loop of 4 instructions, one 8-byte load per iteration with stride 8.
  TraceBuilder tb(feature::kPhysAddr | feature::kAsid, 1u << 20);
  const StaticBlock* b = tb.block(0x401000, 4);
  tb.context(3, 0x1000);
  for (int i = 0; i < 10000; i++)
    tb.exec(b, 4, [&](uint32_t insn, unsigned k, MemAccess* a) {
      if (insn != 1 || k > 0) return false;
      a->vaddr = 0x600000 + 8 * i;
      a->paddr = 0x9000000 + 8 * i;
      a->size = 8;
      return true;
    });
  auto bytes = tb.finish();
  EXPECT_EQ(read_all_and_check(bytes, tb), 40000u);
  CoreReader r(memory_source(bytes, "t"));
  ASSERT_EQ(r.chunks().size(), 1u);
  // EXEC + id + count + tag + insn delta = 5 bytes per iteration when predicted.
  EXPECT_LE(r.chunks()[0].raw_size, 10000u * 5 + 2000);
  // And zstd squeezes the repetition: far below 0.1 bytes per instruction.
  EXPECT_LT(double(bytes.size()) / 40000, 0.1);
}

TEST(Truncation, EveryCutIsReadableUpToItsLastCompleteChunk) {
  TraceBuilder tb = random_trace(kAllFeatures, 5, 120, 50);
  auto full = tb.finish();
  CoreReader whole(memory_source(full, "t"));
  ASSERT_GE(whole.chunks().size(), 3u);
  for (size_t cut = 0; cut < full.size(); cut++) {
    std::vector<uint8_t> part(full.begin(), full.begin() + cut);
    std::unique_ptr<CoreReader> r;
    try {
      r = std::make_unique<CoreReader>(memory_source(part, "cut"));
    } catch (const TraceError& e) {
      // Only a cut inside the file header may be rejected outright.
      ASSERT_LT(cut, kFileHeaderSize) << e.what();
      continue;
    }
    uint64_t complete = 0;
    for (const ChunkInfo& c : whole.chunks())
      if (c.offset + kChunkHeaderSize + c.compressed_size <= cut) complete = c.first_insn + c.insn_count;
    ASSERT_FALSE(r->state().has_footer);
    ASSERT_FALSE(r->state().damage.empty());
    ASSERT_EQ(r->total_instructions(), complete) << "cut at " << cut;
    uint64_t n = 0;
    while (const Instruction* in = r->next()) {
      expect_same(tb.expected[n], *in, n);
      n++;
    }
    ASSERT_EQ(n, complete) << "cut at " << cut;
  }
}

TEST(Corruption, EveryFlippedByteIsDetectedOrHarmless) {
  TraceBuilder tb = random_trace(kAllFeatures, 6, 120, 60);
  auto full = tb.finish();
  size_t detected = 0, harmless = 0;
  for (size_t pos = 0; pos < full.size(); pos++) {
    auto bad = full;
    bad[pos] ^= 0x5A;
    try {
      CoreReader r(memory_source(bad, "bad"));
      uint64_t n = 0;
      while (const Instruction* in = r.next()) {
        expect_same(tb.expected[n], *in, n);
        n++;
      }
      // A damaged index or footer falls back to a scan of intact chunks.
      ASSERT_EQ(n, tb.expected.size()) << "byte " << pos << " silently lost instructions";
      harmless++;
    } catch (const TraceError& e) {
      EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos) << "error must name the file";
      detected++;
    }
  }
  EXPECT_GT(detected, full.size() / 2);
  EXPECT_GT(harmless, 0u);  // the index/footer bytes
}

TEST(Corruption, ErrorsNameFileChunkAndOffset) {
  TraceBuilder tb = random_trace(kAllFeatures, 7, 200, 100);
  auto full = tb.finish();
  CoreReader whole(memory_source(full, "t"));
  ASSERT_GE(whole.chunks().size(), 2u);
  auto bad = full;
  bad[whole.chunks()[1].offset + kChunkHeaderSize + 3] ^= 1;
  CoreReader r(memory_source(bad, "trace_7"));
  try {
    while (r.next()) {}
    FAIL() << "corruption not detected";
  } catch (const TraceError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("trace_7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("chunk 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset " + std::to_string(whole.chunks()[1].offset)), std::string::npos) << msg;
  }
}

TEST(Header, RejectsNewerFormatsAndGarbage) {
  TraceBuilder tb = random_trace(0, 8, 10);
  auto full = tb.finish();
  EXPECT_THROW(CoreReader(memory_source({1, 2, 3}, "x")), TraceError);
  auto newer = full;
  newer[10] = 9;  // min_reader_version
  detail::put_u32(newer.data() + 60, detail::crc32(newer.data(), 60));
  try {
    CoreReader r(memory_source(newer, "n"));
    FAIL();
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("needs reader version 9"), std::string::npos) << e.what();
  }
}

TEST(DiskFull, WriterFailsCleanlyAndKeepsCompleteChunks) {
  std::vector<uint8_t> out;
  auto sink = std::make_unique<MemorySink>(&out, "full");
  sink->set_capacity(3000);
  WriterOptions o;
  o.chunk_insns = 50;
  BinaryCoreWriter w(std::move(sink), o, 0, nullptr);
  StaticBlock b;
  b.vaddr = 0x1000;
  b.insn_count = 5;
  b.lengths = {1, 2, 3, 4, 5};
  for (int i = 0; i < 15; i++) b.bytes.push_back(uint8_t(i * 37));
  w.set_context(3, 0);
  uint64_t x = 1;
  for (int i = 0; i < 2000 && !w.failed(); i++) {
    w.begin_block(&b);
    for (uint32_t k = 0; k < 5; k++) {
      x = x * 6364136223846793005ull + 1;
      w.access(k, x, x >> 7, 3, k & 1);
    }
    w.end_block(5);
  }
  EXPECT_FALSE(w.finish());
  EXPECT_TRUE(w.failed());
  EXPECT_NE(w.error().find("No space left"), std::string::npos) << w.error();
  EXPECT_NE(w.error().find("full"), std::string::npos) << w.error();
  CoreReader r(memory_source(out, "full"));
  EXPECT_GT(r.chunks().size(), 0u);
  uint64_t n = 0;
  while (const Instruction* in = r.next()) {
    EXPECT_EQ(in->pc, 0x1000u + (n % 5) * (n % 5 + 1) / 2);
    n++;
  }
  EXPECT_EQ(n, r.total_instructions());
  EXPECT_EQ(n % 50, 0u);
}

TEST(CompressionPool, ManyCoresInParallelRoundTrip) {
  CompressionPool pool(2);
  WriterOptions o;
  o.chunk_insns = 64;
  o.buffers_per_core = 2;
  std::vector<std::vector<uint8_t>> out(4);
  StaticBlock b;
  b.vaddr = 0x2000;
  b.insn_count = 3;
  b.lengths = {2, 2, 2};
  b.bytes = {1, 2, 3, 4, 5, 6};
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; c++)
    threads.emplace_back([&, c] {
      BinaryCoreWriter w(std::make_unique<MemorySink>(&out[c]), o, uint16_t(c), &pool);
      w.set_context(3, 0);
      for (int i = 0; i < 5000; i++) {
        w.begin_block(&b);
        w.access(1, 0x10000 + 8 * i + c, 0, 3, false);
        w.end_block(3);
      }
      EXPECT_TRUE(w.finish());
    });
  for (auto& t : threads) t.join();
  for (int c = 0; c < 4; c++) {
    CoreReader r(memory_source(out[c], "c"));
    EXPECT_EQ(r.header().core, c);
    uint64_t n = 0;
    while (const Instruction* in = r.next()) {
      if (n % 3 == 1) {
        ASSERT_EQ(in->access_count, 1u);
        EXPECT_EQ(in->accesses[0].vaddr, 0x10000u + 8 * (n / 3) + c);
      }
      n++;
    }
    EXPECT_EQ(n, 15000u);
  }
}

namespace {
uint64_t even_clock() { static uint64_t t = 0; return t += 2000; }
uint64_t odd_clock() { static uint64_t t = 1000; return t += 2000; }

std::vector<uint8_t> clocked_core(uint16_t core, uint64_t (*clock)(), uint64_t vaddr) {
  std::vector<uint8_t> out;
  WriterOptions o;
  o.chunk_insns = 10;
  o.clock_ns = clock;
  BinaryCoreWriter w(std::make_unique<MemorySink>(&out), o, core, nullptr);
  StaticBlock b{vaddr, 0, 0, 5, {1, 1, 1, 1, 1}, {0x90, 0x90, 0x90, 0x90, 0x90}};
  w.set_context(3, 0);
  for (int i = 0; i < 20; i++) {
    w.begin_block(&b);
    w.end_block(5);
  }
  w.finish();
  return out;
}
}  // namespace

TEST(RunReader, MergesCoresInTimeOrder) {
  std::vector<std::unique_ptr<CoreReader>> cores;
  // The header read uses one clock tick; chunks then start at rising times.
  cores.push_back(std::make_unique<CoreReader>(memory_source(clocked_core(0, even_clock, 0x1000), "c0")));
  cores.push_back(std::make_unique<CoreReader>(memory_source(clocked_core(1, odd_clock, 0x2000), "c1")));
  RunReader rr(std::move(cores));
  uint64_t last = 0, n[2] = {0, 0};
  std::vector<int> order;
  while (const Instruction* in = rr.next()) {
    ASSERT_GE(in->time_ns, last);
    last = in->time_ns;
    ASSERT_EQ(in->pc >> 12, in->core == 0 ? 1u : 2u);
    EXPECT_EQ(in->index, n[in->core]);
    n[in->core]++;
    if (order.empty() || order.back() != in->core) order.push_back(in->core);
  }
  EXPECT_EQ(n[0], 100u);
  EXPECT_EQ(n[1], 100u);
  // Chunks of 10 instructions alternate between the cores.
  EXPECT_GE(order.size(), 19u);
}
