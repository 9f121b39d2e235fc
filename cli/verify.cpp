// qemutrace verify FILE...: checks every chunk; exit 0 only if all files are intact.
#include <fmt/format.h>

#include "convert/foreign_trace.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_paths.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

// Returns true if the file is intact. Prints one line per file (plus one per
// damaged chunk).
bool verify_file(const std::string& path) {
  if (auto foreign = recognise_foreign_trace(path)) {  // not ours to check: say what it is
    std::printf("%s\n", foreign_trace_advice(path, *foreign, "verify").c_str());
    return false;
  }
  std::unique_ptr<CoreReader> r;
  try {
    r = CoreReader::open(path);
  } catch (const TraceError& e) {
    std::printf("%s\n", fmt::format("{}: DAMAGED: {}; recoverable: nothing", path, e.what()).c_str());
    return false;
  }
  bool ok = r->state().damage.empty();
  uint64_t recoverable = 0, recoverable_chunks = 0, bad_chunks = 0;
  bool prefix = true;
  for (size_t i = 0; i < r->chunks().size(); i++) {
    try {
      r->check_chunk(i);
      if (prefix) {
        recoverable += r->chunks()[i].insn_count;
        recoverable_chunks++;
      }
    } catch (const TraceError& e) {
      ok = false;
      prefix = false;
      bad_chunks++;
      std::printf("%s\n", e.what());
    }
  }
  // Instruction indices and timestamps must rise through the whole stream.
  if (bad_chunks == 0) {
    try {
      uint64_t expect = 0, last_time = 0;
      while (const Instruction* in = r->next()) {
        if (in->index != expect) throw TraceError(fmt::format("{}: instruction index {} where {} was due", path, in->index, expect));
        if (in->time_ns < last_time) throw TraceError(fmt::format("{}: timestamp goes backwards at instruction {}", path, in->index));
        if (in->length == 0 || in->length > kMaxInsnLength) throw TraceError(fmt::format("{}: bad length at instruction {}", path, in->index));
        last_time = in->time_ns;
        expect++;
      }
    } catch (const TraceError& e) {
      ok = false;
      std::printf("%s\n", e.what());
    }
  }
  if (ok) {
    std::printf("%s\n", fmt::format("{}: ok: {} chunks, {} instructions, {} bytes", path, r->chunks().size(),
                                    r->total_instructions(), r->state().file_bytes)
                            .c_str());
    return true;
  }
  std::string what = r->state().damage.empty() ? fmt::format("{} damaged chunks", bad_chunks) : r->state().damage;
  std::printf("%s\n", fmt::format("{}: DAMAGED: {}; recoverable: {} instructions in {} chunks", path, what,
                                  recoverable, recoverable_chunks)
                          .c_str());
  return false;
}

QEMUTRACE_SUBCOMMAND(verify, [](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand("verify", "Check checksums, index and record sanity; exit 0 only if intact");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "Trace files, a run base or a manifest BASE.json")->required();
  return [files] {
    bool all = true;
    for (const auto& a : *files) {
      std::vector<std::string> paths;
      try {
        paths = expand_trace_paths(a);
      } catch (const TraceError& e) {
        std::printf("%s: DAMAGED: %s\n", a.c_str(), e.what());
        all = false;
        continue;
      }
      for (const auto& p : paths) all = verify_file(p) && all;
    }
    return all ? 0 : 1;
  };
});

}  // namespace
}  // namespace qemutrace::cli
