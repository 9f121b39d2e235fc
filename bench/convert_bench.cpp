// Conversion throughput (instructions/s) and bytes per instruction of each
// simulator format, next to the binary format, on the synthetic streams of
// bench/synthetic.h (with real x86 bytes patched into its blocks so that the
// disassembler does real work). Two paths per format:
//   BM_Convert/<shape>/<format>: CoreReader -> consumer (qemutrace convert);
//   BM_Direct/<shape>/<format>:  TraceSink events -> make_format_sink (plugin).
// Counters: insns_per_s (wall), insns_per_cpu_s (CPU time of the whole
// process: the reader's prefetch thread and xz's threads included),
// insns_per_main_cpu_s (the converting thread alone), bytes_per_insn.
// On a loaded machine wall time says little; on N free cores the
// conversion runs at about min(main, N x process) per CPU second.
// Output goes to a counting sink.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <time.h>

#include <memory>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/reader.h"
#include "synthetic.h"

namespace qemutrace::bench {
namespace {

constexpr uint64_t kInsns = 2'000'000;

double process_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
// CPU seconds spent by the process and by this thread in one iteration.
struct CpuClock {
  double p0 = process_cpu_s(), t0 = thread_cpu_s();
  void add_to(double* proc, double* main) const {
    *proc += process_cpu_s() - p0;
    *main += thread_cpu_s() - t0;
  }
};
void cpu_counters(benchmark::State& st, uint64_t insns, double proc, double main) {
  const double n = double(insns) * double(st.iterations());
  st.counters["insns_per_cpu_s"] = n / proc;
  st.counters["insns_per_main_cpu_s"] = n / main;
}

class CountingSink : public ByteSink {
 public:
  explicit CountingSink(uint64_t* n) : n_(n) {}
  bool write(const void*, size_t n, int*) override {
    *n_ += n;
    return true;
  }
  const std::string& name() const override { return name_; }

 private:
  uint64_t* n_;
  std::string name_ = "<count>";
};

// Real instruction bytes by length: the last one of a block is a jnz.
void patch_real_bytes(StaticBlock& b) {
  b.bytes.clear();
  for (uint32_t i = 0; i < b.insn_count; ++i) {
    switch (b.lengths[i]) {
      case 2: b.bytes.insert(b.bytes.end(), {0x75, 0xf0}); break;              // jnz
      case 3: b.bytes.insert(b.bytes.end(), {0x48, 0x01, 0xc3}); break;        // add rbx, rax
      case 4: b.bytes.insert(b.bytes.end(), {0x48, 0x8b, 0x04, 0x24}); break;  // mov rax, [rsp]
      default:
        b.bytes.insert(b.bytes.end(), {0x48, 0x8b, 0x44, 0x24, 0x08});        // mov rax, [rsp+8]
        b.lengths[i] = 5;
        break;
    }
  }
}

Synthetic& synth() {
  static Synthetic* s = [] {
    auto* p = new Synthetic;
    patch_real_bytes(p->loop);
    patch_real_bytes(p->chase);
    patch_real_bytes(p->stream);
    return p;
  }();
  return *s;
}

WriterOptions opts() {
  WriterOptions o;
  o.isa = Isa::x86_64;
  o.features = feature::kPhysAddr | feature::kKernel | feature::kAsid | feature::kTimestamps;
  return o;
}

const std::vector<uint8_t>& binary(Shape s) {
  static std::vector<uint8_t> cache[3];
  auto& b = cache[int(s)];
  if (b.empty()) {
    BinaryCoreWriter w(std::make_unique<MemorySink>(&b), opts(), 0, nullptr);
    synth().run(s, w, kInsns);
    w.finish();
  }
  return b;
}

const OutputFormat kFormats[] = {OutputFormat::Tejas, OutputFormat::ChampSim, OutputFormat::Din,
                                 OutputFormat::Text, OutputFormat::ChampSimGz};

void BM_Convert(benchmark::State& st) {
  Shape shape = Shape(st.range(0));
  OutputFormat f = kFormats[st.range(1)];
  const auto& bin = binary(shape);
  uint64_t bytes = 0, insns = 0;
  double proc = 0, main = 0;
  for (auto _ : st) {
    bytes = 0;
    CpuClock clock;
    CoreReader r(memory_source(bin));
    ConsumerOptions co{r.header().isa, r.header().features, r.header().core};
    auto c = make_consumer(f, std::make_unique<CountingSink>(&bytes), co);
    insns = feed_reader(r, *c);
    c->finish();
    clock.add_to(&proc, &main);
  }
  cpu_counters(st, insns, proc, main);
  st.SetLabel(std::string(shape_name(shape)) + "/" + std::string(output_format_name(f)));
  st.counters["insns_per_s"] =
      benchmark::Counter(double(insns) * st.iterations(), benchmark::Counter::kIsRate);
  st.counters["bytes_per_insn"] = double(bytes) / double(insns);
  st.counters["binary_bytes_per_insn"] = double(bin.size()) / double(insns);
}

void BM_Direct(benchmark::State& st) {
  Shape shape = Shape(st.range(0));
  OutputFormat f = kFormats[st.range(1)];
  uint64_t bytes = 0, insns = 0;
  double proc = 0, main = 0;
  for (auto _ : st) {
    bytes = 0;
    CpuClock clock;
    auto sink = make_format_sink(f, std::make_unique<CountingSink>(&bytes), opts(), 0);
    insns = synth().run(shape, *sink, kInsns);
    sink->finish();
    clock.add_to(&proc, &main);
  }
  cpu_counters(st, insns, proc, main);
  st.SetLabel(std::string(shape_name(shape)) + "/" + std::string(output_format_name(f)));
  st.counters["insns_per_s"] =
      benchmark::Counter(double(insns) * st.iterations(), benchmark::Counter::kIsRate);
  st.counters["bytes_per_insn"] = double(bytes) / double(insns);
}

BENCHMARK(BM_Convert)->ArgsProduct({{0, 1, 2}, {0, 1, 2, 3, 4}})->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Direct)->ArgsProduct({{0, 1, 2}, {0, 1, 2, 3, 4}})->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace qemutrace::bench

BENCHMARK_MAIN();
