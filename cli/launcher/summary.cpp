#include "launcher/summary.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "launcher/util.h"
#include "qemutrace/reader.h"

namespace qemutrace::launcher {

namespace {

struct CoreRow {
  long long insns = -1, bytes = -1, kernel = -1, user = -1;
  std::string path;
};

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return nullptr;
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

long long get_ll(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return -1;
  return j[key].get<long long>();
}

}  // namespace

double traced_seconds(const nlohmann::json& m) {
  if (!m.is_object() || !m.contains("events") || !m["events"].is_array()) return 0;
  std::vector<std::pair<long long, std::string>> ev;
  for (const auto& e : m["events"]) {
    if (!e.is_object() || !e.contains("time_ns") || !e["time_ns"].is_number()) continue;
    ev.emplace_back(e["time_ns"].get<long long>(), e.value("event", std::string()));
  }
  std::sort(ev.begin(), ev.end());
  double total = 0;
  long long on_since = -1;
  for (const auto& [t, name] : ev) {
    if (name == "roi_begin") {
      if (on_since < 0) on_since = t;
    } else if (on_since >= 0 && name != "skip_done" && name != "discontinuity") {
      total += (t - on_since) / 1e9;
      on_since = -1;
    }
  }
  return total;
}

long long manifest_total_instructions(const std::string& base) {
  auto m = read_json_file(base + ".json");
  if (!m.is_object() || !m.contains("totals")) return -1;
  return get_ll(m["totals"], "instructions");
}

std::vector<std::string> trace_files(const std::string& base) {
  std::vector<std::string> files;
  auto m = read_json_file(base + ".json");
  if (m.is_object() && m.contains("files") && m["files"].is_array()) {
    for (const auto& f : m["files"])
      if (f.is_object() && f.contains("path") && f["path"].is_string()) {
        std::string p = f["path"].get<std::string>();
        if (!p.empty() && p[0] != '/' && !file_exists(p)) p = dirname_of(base) + "/" + basename_of(p);
        files.push_back(p);
      }
  }
  if (files.empty())
    for (int k = 0; k < 1024 && file_exists(base + "_" + std::to_string(k)); ++k) files.push_back(base + "_" + std::to_string(k));
  return files;
}

TraceCheck check_trace(const std::string& base) {
  TraceCheck c;
  auto m = read_json_file(base + ".json");
  c.have_manifest = m.is_object();
  bool says_complete = c.have_manifest && m.value("complete", false);
  // Binary files can be read back; a finished simulator-format run has
  // only its outputs, and the manifest's word for them.
  bool binary_files = !c.have_manifest || m.value("format", std::string()) == "binary" ||
                      m.value("files_format", std::string()) == "binary";
  if (binary_files) {
    int k = 0;
    for (const std::string& p : trace_files(base)) {
      CoreFileCheck f;
      f.path = p;
      f.core = k++;
      try {
        auto r = CoreReader::open(p);
        f.core = r->header().core;
        f.instructions = static_cast<long long>(r->total_instructions());
        f.damage = r->state().damage;
      } catch (const TraceError& e) {
        f.damage = e.what();
      }
      if (f.instructions >= 0) c.recoverable = std::max(0LL, c.recoverable) + f.instructions;
      c.files.push_back(f);
    }
  }
  if (!c.have_manifest) {
    c.problem = "no manifest " + base + ".json was written";
  } else if (!says_complete) {
    c.problem = "the manifest says the run did not finish its files";
  } else {
    for (const auto& f : c.files)
      if (!f.damage.empty()) {
        c.problem = f.path + ": " + f.damage;
        break;
      }
  }
  c.complete = c.problem.empty();
  return c;
}

long long print_summary(const SummaryInput& in) {
  std::map<int, CoreRow> rows;
  auto m = read_json_file(in.base + ".json");
  bool have_manifest = m.is_object();
  long long total_insns = -1, total_bytes = -1;
  bool from_files = in.check && !in.check->complete && !in.check->files.empty();
  if (from_files) {
    // The manifest of an unfinished run lags the files: count what the
    // reader recovers from them instead.
    total_insns = total_bytes = 0;
    for (const auto& f : in.check->files) {
      auto& r = rows[f.core];
      r.insns = std::max(0LL, f.instructions);
      r.path = f.path;
      struct stat st{};
      r.bytes = ::stat(f.path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : 0;
      total_insns += r.insns;
      total_bytes += r.bytes;
    }
  } else if (have_manifest && m.contains("files") && m["files"].is_array()) {
    for (const auto& f : m["files"]) {
      if (!f.is_object()) continue;
      int core = static_cast<int>(get_ll(f, "core"));
      auto& r = rows[core];
      r.insns = get_ll(f, "instructions");
      r.kernel = get_ll(f, "kernel_instructions");
      if (r.kernel >= 0 && r.insns >= r.kernel) r.user = r.insns - r.kernel;
      r.bytes = get_ll(f, "bytes");
      r.path = f.value("path", std::string());
    }
    if (m.contains("totals")) {
      total_insns = get_ll(m["totals"], "instructions");
      total_bytes = get_ll(m["totals"], "bytes");
    }
  } else if (in.session && in.session->last_status) {
    for (const auto& c : in.session->last_status->cores) {
      rows[c.core].insns = static_cast<long long>(c.instructions);
      rows[c.core].bytes = static_cast<long long>(c.bytes);
    }
    total_insns = static_cast<long long>(in.session->last_status->instructions);
    total_bytes = static_cast<long long>(in.session->last_status->bytes);
  }
  if (total_insns < 0 && !rows.empty()) {
    total_insns = total_bytes = 0;
    for (auto& [c, r] : rows) total_insns += std::max(0LL, r.insns), total_bytes += std::max(0LL, r.bytes);
  }

  // Kernel/user split: the writer's counts in the manifest; without them,
  // `qemutrace stats --json` re-reads the files (binary traces only).
  bool have_split = !rows.empty();
  for (const auto& [c, r] : rows)
    if (r.kernel < 0 || r.user < 0) have_split = false;
  long long tk = 0, tu = 0;
  if (have_split)
    for (const auto& [c, r] : rows) tk += r.kernel, tu += r.user;
  auto files = have_split ? std::vector<std::string>{} : trace_files(in.base);
  if (in.format == "binary" && !files.empty() && total_insns > 0 && total_insns < 3000000000LL) {
    std::vector<std::string> argv = {exe_dir() + "/qemutrace", "stats", "--json"};
    argv.insert(argv.end(), files.begin(), files.end());
    std::string out, err;
    if (run_capture(argv, &out, &err) == 0) {
      auto j = nlohmann::json::parse(out, nullptr, false);
      if (!j.is_discarded() && j.contains("cores") && j["cores"].is_array()) {
        for (const auto& c : j["cores"]) {
          int core = static_cast<int>(get_ll(c, "core"));
          auto& r = rows[core];
          r.kernel = get_ll(c, "kernel_instructions");
          r.user = get_ll(c, "user_instructions");
          if (r.insns < 0) r.insns = get_ll(c, "instructions");
          if (r.kernel >= 0) tk += r.kernel, have_split = true;
          if (r.user >= 0) tu += r.user;
        }
      }
    }
  }

  std::printf("\nqemutrace summary: %s\n", in.base.c_str());
  if (in.check && !in.check->complete) {
    std::printf("  INCOMPLETE trace: %s\n", in.check->problem.c_str());
    if (from_files)
      std::printf("  recoverable: %lld instructions in complete chunks (qemutrace verify %s; convert, dump and "
                  "stats read them)\n",
                  std::max(0LL, in.check->recoverable), in.base.c_str());
  }
  if (rows.empty()) {
    std::printf("  no trace files were written\n");
    std::fflush(stdout);
    return total_insns;
  }
  auto pct = [](long long part, long long whole) {
    char b[16];
    std::snprintf(b, sizeof b, "%5.1f%%", whole > 0 ? 100.0 * part / whole : 0.0);
    return std::string(b);
  };
  std::printf("  %-6s %15s %16s %16s %12s %8s\n", "core", "instructions", "kernel", "user", "bytes", "B/insn");
  for (const auto& [core, r] : rows) {
    std::string k = r.kernel >= 0 ? std::to_string(r.kernel) + " " + pct(r.kernel, r.insns) : "-";
    std::string u = r.user >= 0 ? std::to_string(r.user) + " " + pct(r.user, r.insns) : "-";
    std::printf("  %-6d %15lld %16s %16s %12s %8.3f\n", core, std::max(0LL, r.insns), k.c_str(), u.c_str(),
                human_bytes(std::max(0LL, r.bytes)).c_str(), r.insns > 0 ? double(r.bytes) / r.insns : 0.0);
  }
  std::string k = have_split ? std::to_string(tk) + " " + pct(tk, total_insns) : "-";
  std::string u = have_split ? std::to_string(tu) + " " + pct(tu, total_insns) : "-";
  std::printf("  %-6s %15lld %16s %16s %12s %8.3f\n", "total", std::max(0LL, total_insns), k.c_str(), u.c_str(),
              human_bytes(std::max(0LL, total_bytes)).c_str(),
              total_insns > 0 ? double(total_bytes) / total_insns : 0.0);
  double secs = traced_seconds(m);
  if (secs <= 0 && in.session) secs = in.session->tracing_seconds;
  if (secs > 0 && total_insns > 0)
    std::printf("  guest speed while tracing: %.1f MIPS (%lld instructions in %.2f s)\n", total_insns / secs / 1e6,
                total_insns, secs);
  if (in.session) std::printf("  QEMU ran for %.1f s\n", in.session->wall_seconds);
  if (have_manifest) {
    std::printf("  manifest: %s.json%s\n", in.base.c_str(), m.value("complete", false) ? "" : " (incomplete)");
  } else {
    std::printf("  manifest: %s.json (not written)\n", in.base.c_str());
  }
  std::fflush(stdout);
  return total_insns;
}

}  // namespace qemutrace::launcher
