// Writer and reader throughput and bytes per instruction on synthetic
// streams (bench/synthetic.h). Run through bench/run.sh, which writes
// bench/RESULTS.md.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "qemutrace/reader.h"
#include "qemutrace/writer.h"
#include "synthetic.h"

using namespace qemutrace;
using qemutrace::bench::Shape;

namespace {

bench::Synthetic& synth() {
  static bench::Synthetic s;
  return s;
}

const uint64_t kInsns = std::getenv("QEMUTRACE_BENCH_INSNS") ? std::strtoull(std::getenv("QEMUTRACE_BENCH_INSNS"), nullptr, 10) : 20'000'000;

std::vector<uint8_t> write_trace(Shape shape, int level, CompressionPool* pool, uint64_t* insns) {
  std::vector<uint8_t> out;
  out.reserve(64 << 20);
  WriterOptions o;
  o.zstd_level = level;
  {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&out), o, 0, pool);
    *insns = synth().run(shape, w, kInsns);
    w.finish();
  }
  return out;
}

// One core writing, compression on one background thread (as in the plugin).
void BM_Write(benchmark::State& state) {
  Shape shape = Shape(state.range(0));
  int level = int(state.range(1));
  CompressionPool pool(1);
  uint64_t insns = 0, total = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    auto out = write_trace(shape, level, &pool, &insns);
    bytes = out.size();
    total += insns;
  }
  state.SetItemsProcessed(int64_t(total));
  state.counters["bytes_per_insn"] = double(bytes) / double(insns);
  state.SetLabel(std::string(bench::shape_name(shape)) + " zstd-" + std::to_string(level));
}

void BM_Read(benchmark::State& state) {
  Shape shape = Shape(state.range(0));
  CompressionPool pool(1);
  uint64_t insns = 0;
  auto bytes = write_trace(shape, 1, &pool, &insns);
  uint64_t total = 0, sink = 0;
  for (auto _ : state) {
    CoreReader r(memory_source(bytes, "bench"));
    while (const Instruction* in = r.next()) sink += in->pc + in->access_count;
    total += r.total_instructions();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(int64_t(total));
  state.counters["bytes_per_insn"] = double(bytes.size()) / double(insns);
  state.SetLabel(bench::shape_name(shape));
}

}  // namespace

BENCHMARK(BM_Write)->ArgsProduct({{0, 1, 2}, {1, 3}})->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();
BENCHMARK(BM_Read)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK_MAIN();
