// The two paths to a simulator format give the same bytes: the plugin path
// (make_format_sink fed TraceSink events) and the convert path (the same
// events stored by BinaryCoreWriter, read back by CoreReader, fed to the
// consumer). Also checks next_pc filling and indices against the events.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/reader.h"
#include "qemutrace/writer.h"

namespace qemutrace {
namespace {

// Real instructions to build blocks from (bytes, accesses it makes).
struct Proto {
  std::vector<uint8_t> bytes;
  int loads, stores;
};
const std::vector<Proto>& protos() {
  static const std::vector<Proto> p = {
      {{0x48, 0x89, 0xc3}, 0, 0},                    // mov rbx, rax
      {{0x48, 0x8b, 0x44, 0x24, 0x08}, 1, 0},        // mov rax, [rsp+8]
      {{0x48, 0x89, 0x18}, 0, 1},                    // mov [rax], rbx
      {{0x50}, 0, 1},                                // push rax
      {{0x58}, 1, 0},                                // pop rax
      {{0x48, 0x01, 0x08}, 1, 1},                    // add [rax], rcx
      {{0x0f, 0x10, 0x06}, 1, 0},                    // movups xmm0, [rsi] (16 bytes)
      {{0x90}, 0, 0},                                // nop
  };
  return p;
}
// Block terminators.
const std::vector<std::vector<uint8_t>>& enders() {
  static const std::vector<std::vector<uint8_t>> e = {
      {0x75, 0x05}, {0xeb, 0x10}, {0xe8, 0, 1, 0, 0}, {0xc3}, {0xff, 0xd0}, {0xff, 0xe0}};
  return e;
}

struct Event {
  enum Kind { Context, Block, Marker_ } kind;
  uint8_t cpl = 3;
  uint64_t asid = 0;
  size_t block = 0;
  uint32_t retired = 0;
  struct Acc {
    uint32_t insn;
    uint64_t vaddr, paddr;
    unsigned size_log2;
    bool store;
    uint64_t lo, hi;
  };
  std::vector<Acc> acc;
  Marker marker;
};

struct Scenario {
  std::vector<std::unique_ptr<StaticBlock>> blocks;
  std::vector<Event> events;
};

Scenario make_scenario(uint32_t seed, size_t n_events) {
  std::mt19937_64 rng(seed);
  Scenario s;
  for (uint32_t b = 0; b < 24; ++b) {
    auto blk = std::make_unique<StaticBlock>();
    blk->vaddr = (b & 3) == 3 ? 0xffffffff81000000ull + b * 0x1000 : 0x400000 + b * 0x100;
    blk->paddr = 0x100000 + b * 0x1000;
    blk->id = b;
    uint32_t n = 1 + rng() % 6;
    for (uint32_t i = 0; i + 1 < n; ++i) {
      const Proto& p = protos()[rng() % protos().size()];
      blk->lengths.push_back(static_cast<uint8_t>(p.bytes.size()));
      blk->bytes.insert(blk->bytes.end(), p.bytes.begin(), p.bytes.end());
    }
    const auto& e = enders()[rng() % enders().size()];
    blk->lengths.push_back(static_cast<uint8_t>(e.size()));
    blk->bytes.insert(blk->bytes.end(), e.begin(), e.end());
    blk->insn_count = n;
    s.blocks.push_back(std::move(blk));
  }
  Event ctx;
  ctx.kind = Event::Context;
  ctx.cpl = 3;
  ctx.asid = 0x1000;
  s.events.push_back(ctx);
  for (size_t k = 0; k < n_events; ++k) {
    uint32_t r = rng() % 100;
    if (r < 5) {
      Event m;
      m.kind = Event::Marker_;
      m.marker.kind = static_cast<MarkerKind>(1 + rng() % 6);
      m.marker.source = static_cast<MarkerSource>(rng() % 10);
      m.marker.id = static_cast<uint16_t>(rng() % 5);
      m.marker.value = rng() % 1000;
      s.events.push_back(m);
      continue;
    }
    if (r < 9) {
      Event c;
      c.kind = Event::Context;
      c.cpl = (rng() & 1) ? 3 : 0;
      c.asid = 0x1000 * (1 + rng() % 3);
      s.events.push_back(c);
      continue;
    }
    Event b;
    b.kind = Event::Block;
    b.block = rng() % s.blocks.size();
    const StaticBlock& blk = *s.blocks[b.block];
    b.retired = (rng() % 10 == 0) ? static_cast<uint32_t>(rng() % blk.insn_count)
                                  : blk.insn_count;
    size_t off = 0;
    for (uint32_t i = 0; i < blk.insn_count; ++i) {
      int loads = 0, stores = 0;
      std::vector<uint8_t> ib(blk.bytes.begin() + off, blk.bytes.begin() + off + blk.lengths[i]);
      for (const Proto& p : protos())
        if (p.bytes == ib) loads = p.loads, stores = p.stores;
      if (ib == std::vector<uint8_t>{0xe8, 0, 1, 0, 0} || ib == std::vector<uint8_t>{0xff, 0xd0})
        stores = 1;
      if (ib == std::vector<uint8_t>{0xc3}) loads = 1;
      bool wide = ib == std::vector<uint8_t>{0x0f, 0x10, 0x06};
      for (int a = 0; a < loads + stores; ++a) {
        Event::Acc acc;
        acc.insn = i;
        acc.vaddr = 0x7ffd0000 + (rng() % 4096) * 8;
        acc.paddr = 0x200000 + (acc.vaddr & 0xffff);
        acc.size_log2 = wide ? 4 : 3;
        acc.store = a >= loads;
        acc.lo = rng();
        acc.hi = wide ? rng() : 0;
        b.acc.push_back(acc);
      }
      off += blk.lengths[i];
    }
    s.events.push_back(b);
  }
  return s;
}

void replay(const Scenario& s, TraceSink& sink) {
  for (const Event& e : s.events) {
    switch (e.kind) {
      case Event::Context: sink.set_context(e.cpl, e.asid); break;
      case Event::Marker_: sink.marker(e.marker); break;
      case Event::Block:
        sink.begin_block(s.blocks[e.block].get());
        for (const Event::Acc& a : e.acc)
          sink.access(a.insn, a.vaddr, a.paddr, a.size_log2, a.store, a.lo, a.hi);
        sink.end_block(e.retired);
        break;
    }
  }
  ASSERT_TRUE(sink.finish()) << sink.error();
}

// The instruction stream the events describe, computed here.
struct Expected {
  uint64_t pc, next_pc;
  uint8_t cpl;
  size_t accesses;
};
std::vector<Expected> expected_stream(const Scenario& s) {
  std::vector<Expected> out;
  uint8_t cpl = 3;
  for (const Event& e : s.events) {
    if (e.kind == Event::Context) cpl = e.cpl;
    if (e.kind != Event::Block) continue;
    const StaticBlock& b = *s.blocks[e.block];
    uint64_t pc = b.vaddr;
    for (uint32_t i = 0; i < e.retired; ++i) {
      size_t n = 0;
      for (const auto& a : e.acc) n += a.insn == i;
      out.push_back({pc, 0, cpl, n});
      pc += b.lengths[i];
    }
  }
  for (size_t i = 0; i + 1 < out.size(); ++i) out[i].next_pc = out[i + 1].pc;
  return out;
}

// A consumer that records what it is given.
class Recorder : public InstructionConsumer {
 public:
  std::vector<Instruction> got;
  std::vector<size_t> acc;
  void consume(const Instruction& i) override {
    got.push_back(i);
    acc.push_back(i.access_count);
  }
  void tail_marker(const Marker&) override {}
  void flush() override {}
  bool finish() override { return true; }
  bool failed() const override { return false; }
  std::string error() const override { return ""; }
  uint64_t instructions() const override { return got.size(); }
  uint64_t bytes_written() const override { return 0; }
};

WriterOptions options(uint64_t features) {
  WriterOptions o;
  o.isa = Isa::x86_64;
  o.features = features;
  o.chunk_insns = 37;  // many chunks: next_pc across chunk boundaries
  o.zstd_level = 1;
  return o;
}

std::vector<uint8_t> binary_of(const Scenario& s, const WriterOptions& o, uint16_t core) {
  std::vector<uint8_t> bin;
  BinaryCoreWriter w(std::make_unique<MemorySink>(&bin), o, core, nullptr);
  replay(s, w);
  return bin;
}

class Paths : public ::testing::TestWithParam<std::tuple<OutputFormat, uint64_t>> {};

TEST_P(Paths, SinkAndConvertAreByteIdentical) {
  auto [fmt, features] = GetParam();
  for (uint32_t seed : {1u, 2u, 3u}) {
    Scenario s = make_scenario(seed, 400);
    WriterOptions o = options(features);
    const uint16_t core = 2;

    std::vector<uint8_t> direct;
    {
      auto sink = make_format_sink(fmt, std::make_unique<MemorySink>(&direct), o, core);
      ASSERT_TRUE(sink);
      replay(s, *sink);
      EXPECT_EQ(sink->totals().instructions, expected_stream(s).size());
    }

    std::vector<uint8_t> bin = binary_of(s, o, core);
    CoreReader reader(memory_source(bin, "scenario.bin"));
    ASSERT_EQ(reader.header().core, core);
    std::vector<uint8_t> converted;
    ConsumerOptions co;
    co.isa = reader.header().isa;
    co.features = reader.header().features;
    co.core = reader.header().core;
    auto c = make_consumer(fmt, std::make_unique<MemorySink>(&converted), co);
    uint64_t n = feed_reader(reader, *c);
    ASSERT_TRUE(c->finish()) << c->error();
    EXPECT_EQ(n, expected_stream(s).size());
    ASSERT_FALSE(direct.empty());
    EXPECT_EQ(direct.size(), converted.size()) << "seed " << seed;
    EXPECT_TRUE(direct == converted) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, Paths,
    ::testing::Combine(::testing::Values(OutputFormat::Tejas, OutputFormat::ChampSim,
                                         OutputFormat::Din, OutputFormat::Text),
                       ::testing::Values(uint64_t{feature::kKernel | feature::kAsid |
                                                  feature::kTimestamps},
                                         uint64_t{feature::kPhysAddr | feature::kValues |
                                                  feature::kKernel | feature::kAsid |
                                                  feature::kTimestamps | feature::kPhysPc})));

TEST(PathsStream, BothPathsMatchTheEvents) {
  Scenario s = make_scenario(9, 300);
  std::vector<Expected> want = expected_stream(s);
  ASSERT_GT(want.size(), 100u);
  WriterOptions o = options(feature::kKernel | feature::kAsid | feature::kTimestamps);
  std::vector<uint8_t> bin = binary_of(s, o, 0);
  CoreReader reader(memory_source(bin));
  Recorder rec;
  std::vector<Instruction> from_reader;
  std::vector<size_t> acc_reader;
  while (const Instruction* i = reader.next()) {
    from_reader.push_back(*i);
    acc_reader.push_back(i->access_count);
  }
  ASSERT_EQ(from_reader.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(from_reader[k].index, k);
    EXPECT_EQ(from_reader[k].pc, want[k].pc);
    EXPECT_EQ(from_reader[k].next_pc, want[k].next_pc);
    EXPECT_EQ(from_reader[k].cpl, want[k].cpl);
    EXPECT_EQ(acc_reader[k], want[k].accesses);
  }
}

TEST(PathsSink, NextPcHeldBackAndLastIsZero) {
  // Two blocks by hand: indices, next_pc, markers on the right instruction.
  StaticBlock a;
  a.vaddr = 0x1000;
  a.insn_count = 2;
  a.lengths = {3, 2};
  a.bytes = {0x48, 0x89, 0xc3, 0x75, 0x10};  // mov rbx, rax; jnz 0x1015
  StaticBlock b;
  b.vaddr = 0x1015;
  b.id = 1;
  b.insn_count = 1;
  b.lengths = {1};
  b.bytes = {0xc3};
  WriterOptions o = options(0);
  std::vector<uint8_t> out;
  auto sink = make_format_sink(OutputFormat::Text, std::make_unique<MemorySink>(&out), o, 1);
  sink->set_context(3, 0);
  Marker m;
  m.kind = MarkerKind::RoiBegin;
  m.source = MarkerSource::Console;
  sink->marker(m);
  sink->begin_block(&a);
  EXPECT_TRUE(sink->in_block());
  sink->end_block(2);
  EXPECT_FALSE(sink->in_block());
  sink->begin_block(&b);
  sink->access(0, 0x7000, 0, 3, false);
  sink->end_block(1);
  sink->begin_block(&a);
  sink->access(0, 0x9999, 0, 3, true);  // dropped: its block retires nothing
  sink->end_block(0);
  Marker e;
  e.kind = MarkerKind::RoiEnd;
  e.source = MarkerSource::Console;
  sink->marker(e);
  ASSERT_TRUE(sink->finish());
  EXPECT_TRUE(sink->finish());  // idempotent
  EXPECT_EQ(sink->totals().instructions, 3u);
  EXPECT_EQ(sink->totals().loads, 1u);
  EXPECT_EQ(std::string(out.begin(), out.end()),
            "M roi_begin console id=0 value=0x0\n"
            "1 0 0x1000 U 4889c3 mov rbx, rax\n"
            "1 1 0x1003 U 7510 jne 0x1015\n"
            "1 2 0x1015 U c3 ret\n"
            "  R 0x7000 8\n"
            "M roi_end console id=0 value=0x0\n");
}

TEST(PathsSink, UnwritablePathAndDiskFull) {
  std::string err;
  WriterOptions o = options(0);
  EXPECT_EQ(make_format_sink(OutputFormat::Din, "/nonexistent-dir/run_0.din", o, 0, &err), nullptr);
  EXPECT_NE(err.find("/nonexistent-dir/run_0.din"), std::string::npos) << err;
  err.clear();
  EXPECT_EQ(make_format_sink(OutputFormat::Binary, "/tmp/x", o, 0, &err), nullptr);
  EXPECT_FALSE(err.empty());

  Scenario s = make_scenario(4, 2000);
  std::vector<uint8_t> out;
  auto ms = std::make_unique<MemorySink>(&out, "full-disk.champsimtrace.xz");
  ms->set_capacity(100);
  auto sink = make_format_sink(OutputFormat::ChampSim, std::move(ms), o, 0);
  for (const Event& e : s.events) {
    if (e.kind != Event::Block) continue;
    sink->begin_block(s.blocks[e.block].get());
    sink->end_block(e.retired);
  }
  EXPECT_FALSE(sink->finish());
  EXPECT_TRUE(sink->failed());
  EXPECT_NE(sink->error().find("full-disk.champsimtrace.xz"), std::string::npos) << sink->error();
}

}  // namespace
}  // namespace qemutrace

namespace qemutrace {
namespace {

// tests/golden/convert/tiny_<k>: a two-core binary trace for the CLI tests
// (tests/cli/convert_cli.sh). Regenerate with QEMUTRACE_UPDATE_GOLDEN=1.
TEST(PathsGolden, TinyTraceReadsBack) {
  const std::string base = std::string(QEMUTRACE_SOURCE_DIR) + "/tests/golden/convert/tiny";
  WriterOptions o = options(feature::kPhysAddr | feature::kKernel | feature::kAsid |
                            feature::kTimestamps | feature::kPhysPc);
  for (uint16_t core = 0; core < 2; ++core) {
    Scenario s = make_scenario(100 + core, 120);
    std::string path = core_file_path(base, core, OutputFormat::Binary);
    if (std::getenv("QEMUTRACE_UPDATE_GOLDEN")) {
      int err = 0;
      auto fs = open_file_sink(path, &err);
      ASSERT_TRUE(fs) << path;
      BinaryCoreWriter w(std::move(fs), o, core, nullptr);
      replay(s, w);
    }
    auto r = CoreReader::open(path);
    std::vector<Expected> want = expected_stream(s);
    uint64_t n = 0;
    while (const Instruction* i = r->next()) {
      ASSERT_LT(n, want.size());
      EXPECT_EQ(i->pc, want[n].pc);
      ++n;
    }
    EXPECT_EQ(n, want.size());
  }
}

}  // namespace
}  // namespace qemutrace

#include <lzma.h>

#include <fstream>
#include <iterator>

namespace qemutrace {
namespace {

std::vector<uint8_t> unxz_all(const std::vector<uint8_t>& in) {
  lzma_stream strm = LZMA_STREAM_INIT;
  EXPECT_EQ(lzma_stream_decoder(&strm, UINT64_MAX, 0), LZMA_OK);
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  strm.next_in = in.data();
  strm.avail_in = in.size();
  for (;;) {
    strm.next_out = buf.data();
    strm.avail_out = buf.size();
    lzma_ret r = lzma_code(&strm, LZMA_FINISH);
    out.insert(out.end(), buf.data(), buf.data() + (buf.size() - strm.avail_out));
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      ADD_FAILURE() << "xz decode error " << r;
      break;
    }
  }
  lzma_end(&strm);
  return out;
}

std::vector<uint8_t> champsim_with_threads(const std::vector<Instruction>& insns, unsigned threads) {
  std::vector<uint8_t> out;
  ConsumerOptions o;
  o.threads = threads;
  auto c = make_consumer(OutputFormat::ChampSim, std::make_unique<MemorySink>(&out), o);
  for (const Instruction& i : insns) c->consume(i);
  EXPECT_TRUE(c->finish()) << c->error();
  return out;
}

// One core's file may hold nearly all of a run, so each file may use every
// CPU; but each xz thread holds two 32 MiB blocks and its encoder (over
// 100 MiB), and a run converts inside the emulator: a quarter of the memory
// bounds all the cores' threads together.
TEST(ChampSimXz, ThreadsPerCoreUseTheCpusWithinAQuarterOfTheMemory) {
  constexpr uint64_t GiB = uint64_t(1) << 30;
  EXPECT_EQ(compression_threads_per_core(1, 8, 1024 * GiB), 8u);
  EXPECT_EQ(compression_threads_per_core(2, 8, 1024 * GiB), 8u);  // the big file gets all
  EXPECT_EQ(compression_threads_per_core(4, 8, 1024 * GiB), 4u);
  EXPECT_EQ(compression_threads_per_core(16, 8, 1024 * GiB), 1u);
  EXPECT_EQ(compression_threads_per_core(0, 0, 0), 1u);
  EXPECT_EQ(compression_threads_per_core(2, 64, 0), 64u);  // memory unknown
  // 4 GiB: a quarter is 512 MiB per core for two cores, room for 4 threads
  // of 100-128 MiB (liblzma's own count, which may vary a little).
  unsigned two_of_64 = compression_threads_per_core(2, 64, 4 * GiB);
  EXPECT_GE(two_of_64, 4u);
  EXPECT_LE(two_of_64, 5u);
  EXPECT_EQ(compression_threads_per_core(1, 64, GiB / 4), 1u);  // never none
}

// The xz stream is compressed in blocks on several threads; its bytes depend
// on the preset and block size only, so every machine and both paths (run
// writer, convert) write the same file.
TEST(ChampSimXz, SameBytesWhateverTheThreads) {
  static const uint8_t mov[] = {0x48, 0x8b, 0x44, 0x24, 0x08};  // mov rax, [rsp+8]
  constexpr size_t kInsns = 1100000;  // 70 MB of records: three xz blocks
  std::vector<Instruction> insns(kInsns);
  std::vector<MemAccess> acc(kInsns);
  for (size_t i = 0; i < kInsns; ++i) {
    // Repeats every 4096 records: xz finds long matches and runs fast.
    acc[i].vaddr = 0x10000000 + 8 * (i % 4096) + 0x100000 * (i / 300000);
    acc[i].size = 8;
    Instruction& in = insns[i];
    in.index = i;
    in.pc = 0x400000 + 5 * (i % 1000);
    in.next_pc = 0x400000 + 5 * ((i + 1) % 1000);
    in.bytes = mov;
    in.length = 5;
    in.cpl = 3;
    in.accesses = &acc[i];
    in.access_count = 1;
  }
  std::vector<uint8_t> one = champsim_with_threads(insns, 1);
  EXPECT_EQ(champsim_with_threads(insns, 2), one);
  EXPECT_EQ(champsim_with_threads(insns, 4), one);
  std::vector<uint8_t> raw = unxz_all(one);
  ASSERT_EQ(raw.size(), kInsns * 64);
  for (size_t i = 0; i < kInsns; i += 99991) {
    uint64_t ip = 0, load = 0;
    std::memcpy(&ip, &raw[64 * i], 8);
    std::memcpy(&load, &raw[64 * i + 32], 8);
    EXPECT_EQ(ip, insns[i].pc);
    EXPECT_EQ(load, acc[i].vaddr);
  }
}

// tests/golden/convert/tiny_0.champsimtrace.xz: core 0 of the tiny trace in
// ChampSim's format, as the multi-threaded xz encoder (preset 3, 32 MiB
// blocks, CRC64) writes it. A change of those settings changes these bytes:
// regenerate with QEMUTRACE_UPDATE_GOLDEN=1 and say so in
// docs/simulator-formats.md.
TEST(ChampSimXz, GoldenBytes) {
  const std::string base = std::string(QEMUTRACE_SOURCE_DIR) + "/tests/golden/convert/tiny";
  const std::string golden = core_file_path(base, 0, OutputFormat::ChampSim);
  for (unsigned threads : {1u, 3u}) {
    auto r = CoreReader::open(core_file_path(base, 0, OutputFormat::Binary));
    ConsumerOptions o{r->header().isa, r->header().features, r->header().core, threads};
    std::vector<uint8_t> out;
    auto c = make_consumer(OutputFormat::ChampSim, std::make_unique<MemorySink>(&out), o);
    feed_reader(*r, *c);
    ASSERT_TRUE(c->finish()) << c->error();
    if (std::getenv("QEMUTRACE_UPDATE_GOLDEN")) {
      std::ofstream(golden, std::ios::binary).write(reinterpret_cast<const char*>(out.data()),
                                                    std::streamsize(out.size()));
    }
    std::ifstream f(golden, std::ios::binary);
    std::vector<uint8_t> want((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(out, want) << "threads " << threads;
  }
}

}  // namespace
}  // namespace qemutrace
