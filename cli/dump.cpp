// qemutrace dump FILE [--from N] [--count N]: the readable text format
// (docs/simulator-formats.md, "Readable text"), one instruction per line with its
// memory accesses and markers. Shares its lines with `--format text`.
#include <cstdio>
#include <memory>
#include <string>

#include "convert/foreign_trace.h"
#include "qemutrace/convert.h"
#include "qemutrace/disasm.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_paths.h"
#include "parse_errors.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

int run_dump(const std::string& file, uint64_t from, uint64_t count) {
  std::vector<std::string> paths = expand_trace_paths(file);
  std::string out;
  out.reserve(1 << 20);
  auto flush = [&]() -> bool {
    if (!out.empty() && std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) return false;
    out.clear();
    return true;
  };
  for (const std::string& path : paths) {
    if (auto foreign = recognise_foreign_trace(path)) return fail(foreign_trace_advice(path, *foreign, "dump"));
    std::unique_ptr<CoreReader> r = CoreReader::open(path);
    if (!r->state().damage.empty())
      std::fprintf(stderr, "qemutrace: warning: %s: %s\n", path.c_str(), r->state().damage.c_str());
    Disassembler dis(r->header().isa);
    uint64_t features = r->header().features;
    if (from) r->seek(from);
    uint64_t n = 0;
    bool at_end = false;
    while (n < count) {
      const Instruction* insn = r->next();
      if (!insn) {
        at_end = true;
        break;
      }
      format_text_instruction(*insn, dis, features, &out);
      ++n;
      if (out.size() >= (1u << 20) && !flush()) return fail("cannot write to standard output");
    }
    if (at_end)
      for (const Marker& m : r->tail_markers()) format_text_marker(m, &out);
    if (!flush()) return fail("cannot write to standard output");
  }
  if (std::fflush(stdout) != 0) return fail("cannot write to standard output");
  return 0;
}

QEMUTRACE_SUBCOMMAND(dump, ([](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand("dump", "Print a trace as readable text, one instruction per line");
  auto file = std::make_shared<std::string>();
  auto from = std::make_shared<uint64_t>(0);
  auto count = std::make_shared<uint64_t>(UINT64_MAX);
  cmd->add_option("file", *file, "A per-core trace file (or a run base / BASE.json: every core)")
      ->required();
  cmd->add_option("--from", *from, "First instruction index to print (seeks through the index)")
      ->check(non_negative_count());
  cmd->add_option("--count", *count, "Print at most this many instructions (per core)")
      ->check(non_negative_count());
  return [file, from, count] { return run_dump(*file, *from, *count); };
}));

}  // namespace
}  // namespace qemutrace::cli
