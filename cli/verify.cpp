// qemutrace verify FILE...: checks every chunk and what the stream means
// (docs/trace-format.md, "Invariants"), and a run's manifest totals against
// its files; exit 0 only if all hold.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/foreign_trace.h"
#include "qemutrace/invariants.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_paths.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

// The reader's messages start with the file's name; verify's lines too.
std::string without_path(const std::string& path, const std::string& msg) {
  return msg.compare(0, path.size() + 2, path + ": ") == 0 ? msg.substr(path.size() + 2) : msg;
}

// Progress on stderr: redrawn on a terminal, otherwise a line now and then
// once a file takes long, so a log shows the run is alive.
class Progress {
 public:
  explicit Progress(const std::string& path, uint64_t total)
      : path_(path), total_(total), tty_(isatty(STDERR_FILENO)), start_(Clock::now()), last_(start_) {}
  ~Progress() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
  }
  void update(uint64_t done) {
    auto now = Clock::now();
    auto since_start = now - start_, since_last = now - last_;
    if (tty_ ? since_last < std::chrono::milliseconds(500)
             : since_start < std::chrono::seconds(10) || (printed_ && since_last < std::chrono::seconds(30)))
      return;
    last_ = now;
    printed_ = true;
    std::string line = fmt::format("verify: {}: {} of {} instructions ({}%)", path_, done, total_,
                                   total_ ? done * 100 / total_ : 100);
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      drawn_ = true;
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string path_;
  uint64_t total_;
  bool tty_, printed_ = false, drawn_ = false;
  Clock::time_point start_, last_;
};

struct FileResult {
  bool intact = false;  // well formed and every invariant holds
  StreamCounts counts;
  uint64_t bytes = 0;
};

// Prints one line per file (plus one per damaged chunk). One pass decodes
// the file and checks its invariants; only a damaged file is decoded again,
// chunk by chunk, to tell what is recoverable.
FileResult verify_file(const std::string& path) {
  FileResult res;
  if (auto foreign = recognise_foreign_trace(path)) {  // not ours to check: say what it is
    std::printf("%s\n", foreign_trace_advice(path, *foreign, "verify").c_str());
    return res;
  }
  std::unique_ptr<CoreReader> r;
  try {
    r = CoreReader::open(path);
  } catch (const TraceError& e) {
    std::printf("%s: DAMAGED: %s; recoverable: nothing\n", path.c_str(), without_path(path, e.what()).c_str());
    return res;
  }
  res.bytes = r->state().file_bytes;
  InvariantChecker check(r->header().isa, r->state().has_footer);
  std::string invalid;
  bool decode_failed = false;
  {
    Progress progress(path, r->total_instructions());
    try {
      uint64_t n = 0;
      while (const Instruction* in = r->next()) {
        check.check(*in);
        if ((++n & 0xFFFFF) == 0) progress.update(n);
      }
      check.finish(r->tail_markers());
    } catch (const InvariantError& e) {
      invalid = e.what();
    } catch (const TraceError&) {
      decode_failed = true;
    }
  }
  res.counts = check.counts();
  if (!decode_failed && invalid.empty() && r->state().damage.empty()) {
    std::printf("%s: ok: %zu chunks, %llu instructions, %llu bytes\n", path.c_str(), r->chunks().size(),
                static_cast<unsigned long long>(r->total_instructions()),
                static_cast<unsigned long long>(r->state().file_bytes));
    res.intact = true;
    return res;
  }
  if (!decode_failed && r->state().damage.empty()) {
    std::printf("%s: INVALID: %s\n", path.c_str(), invalid.c_str());
    return res;
  }
  uint64_t recoverable = 0, recoverable_chunks = 0, bad_chunks = 0;
  if (!decode_failed) {
    recoverable = r->total_instructions();
    recoverable_chunks = r->chunks().size();
  } else {
    bool prefix = true;
    for (size_t i = 0; i < r->chunks().size(); i++) {
      try {
        r->check_chunk(i);
        if (prefix) {
          recoverable += r->chunks()[i].insn_count;
          recoverable_chunks++;
        }
      } catch (const TraceError& e) {
        prefix = false;
        bad_chunks++;
        std::printf("%s\n", e.what());
      }
    }
  }
  if (!invalid.empty()) std::printf("%s: INVALID: %s\n", path.c_str(), invalid.c_str());
  std::string what = r->state().damage.empty() ? fmt::format("{} damaged chunks", bad_chunks) : r->state().damage;
  std::printf("%s: DAMAGED: %s; recoverable: %llu instructions in %llu chunks\n", path.c_str(), what.c_str(),
              static_cast<unsigned long long>(recoverable), static_cast<unsigned long long>(recoverable_chunks));
  return res;
}

bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The manifest a verify argument names, as expand_trace_paths finds it, or "".
std::string manifest_of(const std::string& arg) {
  if (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0) return arg;
  if (!is_file(arg) && is_file(arg + ".json")) return arg + ".json";
  return "";
}

// A finished run's manifest must count what its binary files hold
// (docs/trace-format.md, "Run manifest"). Prints one line per disagreement.
bool check_manifest(const std::string& manifest, const std::map<std::string, FileResult>& files) {
  std::ifstream in(manifest);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return true;  // expand_trace_paths reported it
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
  if (!j.value("complete", false)) return true;  // counts are final only once complete
  if (str("format") != "binary" && str("files_format") != "binary") return true;  // files not ours to count
  bool ok = true;
  auto disagree = [&](const std::string& what, const nlohmann::json& said, uint64_t counted) {
    if (said.is_number_unsigned() && said.get<uint64_t>() == counted) return;
    std::printf("%s: INVALID: %s is %s in the manifest, %llu in the files\n", manifest.c_str(), what.c_str(),
                said.dump().c_str(), static_cast<unsigned long long>(counted));
    ok = false;
  };
  std::string dir = manifest.substr(0, manifest.rfind('/') == std::string::npos ? 0 : manifest.rfind('/') + 1);
  StreamCounts sum;
  uint64_t sum_bytes = 0;
  for (const auto& f : j.value("files", nlohmann::json::array())) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string()) continue;
    std::string p = f["path"].get<std::string>();
    if (p.empty() || p[0] != '/') p = dir + p;
    auto it = files.find(p);
    if (it == files.end() || !it->second.intact) continue;  // reported with the file
    const StreamCounts& c = it->second.counts;
    const std::string name = "files[" + p + "].";
    disagree(name + "instructions", f.value("instructions", nlohmann::json()), c.instructions);
    disagree(name + "kernel_instructions", f.value("kernel_instructions", nlohmann::json()), c.kernel_instructions);
    if (f.contains("hypervisor_instructions"))
      disagree(name + "hypervisor_instructions", f["hypervisor_instructions"], c.hypervisor_instructions);
    if (f.contains("nested_instructions"))
      disagree(name + "nested_instructions", f["nested_instructions"], c.nested_instructions);
    if (f.contains("loads")) disagree(name + "loads", f["loads"], c.loads);
    if (f.contains("stores")) disagree(name + "stores", f["stores"], c.stores);
    disagree(name + "bytes", f.value("bytes", nlohmann::json()), it->second.bytes);
    sum.instructions += c.instructions;
    sum.kernel_instructions += c.kernel_instructions;
    sum.hypervisor_instructions += c.hypervisor_instructions;
    sum.nested_instructions += c.nested_instructions;
    sum_bytes += it->second.bytes;
  }
  if (j.contains("totals") && j["totals"].is_object()) {
    const auto& t = j["totals"];
    disagree("totals.instructions", t.value("instructions", nlohmann::json()), sum.instructions);
    disagree("totals.kernel_instructions", t.value("kernel_instructions", nlohmann::json()), sum.kernel_instructions);
    if (t.contains("hypervisor_instructions"))
      disagree("totals.hypervisor_instructions", t["hypervisor_instructions"], sum.hypervisor_instructions);
    if (t.contains("nested_instructions"))
      disagree("totals.nested_instructions", t["nested_instructions"], sum.nested_instructions);
    disagree("totals.bytes", t.value("bytes", nlohmann::json()), sum_bytes);
  }
  return ok;
}

QEMUTRACE_SUBCOMMAND(verify, [](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand(
      "verify", "Check checksums, index, records and what the trace means (regions, control flow, manifest "
                "totals); exit 0 only if all hold");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("files", *files, "Trace files, a run base or a manifest BASE.json")->required();
  return [files] {
    bool all = true;
    for (const auto& a : *files) {
      std::vector<std::string> paths;
      try {
        paths = expand_trace_paths(a);
      } catch (const TraceError& e) {
        std::printf("%s: DAMAGED: %s\n", a.c_str(), without_path(a, e.what()).c_str());
        all = false;
        continue;
      }
      std::map<std::string, FileResult> results;
      for (const auto& p : paths) {
        FileResult r = verify_file(p);
        all = r.intact && all;
        results[p] = r;
      }
      std::string manifest = manifest_of(a);
      if (!manifest.empty()) all = check_manifest(manifest, results) && all;
    }
    return all ? 0 : 1;
  };
});

}  // namespace
}  // namespace qemutrace::cli
