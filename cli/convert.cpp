// qemutrace convert --to tejas|tejas-gz|champsim|champsim-gz|din|text|bbv IN... -o OUT [--interval N]
//   [--from I] [--count N]: a region of each core by instruction index
// Converts binary traces to simulator formats with the same consumers the
// plugin uses for direct output (lib/convert), so both are byte-identical.
// Per-core outputs go to core_file_path(OUT, core, format).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_paths.h"
#include "qemutrace/writer.h"
#include "parse_errors.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

unsigned host_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int run_convert(const std::string& to, const std::vector<std::string>& inputs,
                const std::string& out_base, uint64_t interval, uint64_t from, uint64_t count) {
  OutputFormat f;
  if (!parse_output_format(to, &f))
    return fail("unknown output format '" + to + "' (expected " + output_format_choices(true) + ")");
  if (f == OutputFormat::Binary)
    return fail("'binary' is not a conversion target (expected " + output_format_choices(true) + ")");
  if (out_base.empty()) return fail("empty output base (-o)");
  if (interval && f != OutputFormat::Bbv) return fail("--interval applies to --to bbv only");

  // Open every input first so that a bad one fails before anything is written.
  std::vector<std::unique_ptr<CoreReader>> readers;
  std::map<unsigned, std::string> seen;
  std::vector<std::string> input_files;  // trace files and manifests: never written
  for (const std::string& in : inputs) {
    input_files.push_back(in);
    input_files.push_back(in + ".json");
    for (const std::string& path : expand_trace_paths(in)) {
      input_files.push_back(path);
      std::unique_ptr<CoreReader> r = CoreReader::open(path);
      unsigned core = r->header().core;
      auto [it, fresh] = seen.emplace(core, path);
      if (!fresh)
        return fail("core " + std::to_string(core) + " appears twice: " + it->second + " and " +
                    path);
      readers.push_back(std::move(r));
    }
  }
  // An output that is an input would be truncated before it is read.
  std::vector<std::string> outputs;
  for (auto& r : readers) outputs.push_back(core_file_path(out_base, r->header().core, f));
  if (std::string same = output_overwrites_input(outputs, input_files); !same.empty())
    return fail("output " + same + " is an input: give another output base (-o)");
  // Open every output before converting, so that one that cannot be created
  // fails before any work; then convert the cores in parallel.
  struct Job {
    CoreReader* reader;
    std::string path;
    std::unique_ptr<InstructionConsumer> out;
    uint64_t insns = 0;
    std::string error;  // empty: converted
  };
  std::vector<Job> jobs;
  for (auto& r : readers) {
    const std::string& in = r->name();
    if (!r->state().damage.empty())
      std::fprintf(stderr, "qemutrace: warning: %s: %s\n", in.c_str(), r->state().damage.c_str());
    ConsumerOptions o;
    o.isa = r->header().isa;
    o.features = r->header().features;
    o.core = r->header().core;
    o.bbv_interval = interval;
    o.threads = compression_threads_per_core(unsigned(readers.size()));
    const std::string& path = outputs[jobs.size()];  // this reader's, checked above
    std::string err;
    std::unique_ptr<InstructionConsumer> c = open_consumer(f, path, o, &err);
    if (!c) {
      for (Job& j : jobs) {
        j.out.reset();
        ::unlink(j.path.c_str());
      }
      return fail(err);
    }
    jobs.push_back(Job{r.get(), path, std::move(c), 0, ""});
  }
  auto convert_one = [from, count](Job& j) {
    try {
      if (from) j.reader->seek(from);
      j.insns = feed_reader(*j.reader, *j.out, count);
    } catch (const std::exception& e) {
      j.error = e.what();
    }
    if (!j.out->finish() && j.error.empty()) j.error = j.out->error();
    if (!j.error.empty()) ::unlink(j.path.c_str());
  };
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next.fetch_add(1)) < jobs.size();) convert_one(jobs[k]);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min<size_t>(jobs.size(), host_threads()); t++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  int rc = 0;
  for (Job& j : jobs) {
    if (!j.error.empty()) {
      if (rc == 0) rc = fail(j.error);
      continue;
    }
    std::printf("core %u: %llu instructions -> %s (%llu bytes)\n", j.reader->header().core,
                static_cast<unsigned long long>(j.insns), j.path.c_str(),
                static_cast<unsigned long long>(j.out->bytes_written()));
  }
  return rc;
}

QEMUTRACE_SUBCOMMAND(convert, ([](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand(
      "convert", "Convert binary traces to a simulator format (docs/simulator-formats.md)");
  auto to = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto interval = std::make_shared<uint64_t>(0);
  auto from = std::make_shared<uint64_t>(0);
  auto count = std::make_shared<uint64_t>(UINT64_MAX);
  cmd->add_option("--to", *to, "Output format: " + output_format_choices(true))->required();
  cmd->add_option("inputs", *inputs, "Per-core files BASE_<k>, a run base, or a manifest BASE.json")
      ->required();
  cmd->add_option("-o,--output", *out,
                  "Output base: core k goes to OUT_<k> (tejas), OUT_<k>.gz (tejas-gz), "
                  "OUT_<k>.champsimtrace.xz (champsim), OUT_<k>.champsimtrace.gz (champsim-gz), "
                  "OUT_<k>.din, OUT_<k>.txt or OUT_<k>.bb")
      ->required();
  cmd->add_option("--interval", *interval,
                  "bbv: instructions per basic-block vector (default " + std::to_string(kDefaultBbvInterval) + ")")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--from", *from, "First instruction index of each core to convert (seeks through the index)")
      ->check(non_negative_count());
  cmd->add_option("--count", *count, "Convert at most this many instructions per core")
      ->check(non_negative_count());
  return [to, inputs, out, interval, from, count] {
    return run_convert(*to, *inputs, *out, *interval, *from, *count);
  };
}));

}  // namespace
}  // namespace qemutrace::cli
