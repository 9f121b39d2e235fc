// qemutrace stats FILE... [--json]: per-core and total counts of a trace.
#include <fmt/format.h>
#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>

#include "convert/foreign_trace.h"
#include "qemutrace/distinct_set.h"
#include "qemutrace/reader.h"
#include "qemutrace/trace_counts.h"
#include "qemutrace/trace_paths.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

struct Counts : TraceCounts {
  DistinctSet pcs, lines;
  bool privilege_known = true;  // false for formats without it (Tejas, din, ChampSim)
};

void add_lines(DistinctSet& lines, uint64_t vaddr, unsigned size) {
  insert_touched(lines, vaddr, size, kDataLineShift);
}

void count_marker(Counts& c, const Marker& m) { c.markers[std::string(marker_kind_name(m.kind))]++; }

nlohmann::json to_json(const Counts& c) {
  nlohmann::json j;
  j["instructions"] = c.instructions;
  j["loads"] = c.loads;
  j["stores"] = c.stores;
  auto priv = [&](uint64_t n) { return c.privilege_known ? nlohmann::json(n) : nlohmann::json(nullptr); };
  j["kernel_instructions"] = priv(c.levels.kernel());
  j["user_instructions"] = priv(c.levels.user());
  j["hypervisor_instructions"] = priv(c.levels.hypervisor());
  j["nested_instructions"] = priv(c.levels.nested());
  j["distinct_pcs"] = c.pcs.size();
  j["distinct_data_lines"] = c.lines.size();
  j["markers"] = c.markers;
  j["bytes"] = c.bytes;
  j["bytes_per_instruction"] = c.instructions ? double(c.bytes) / double(c.instructions) : 0.0;
  j["complete"] = c.complete;
  return j;
}

// A trace in a simulator format: counted from its records, with the
// core number taken from the file name (BASE_<k>...).
Counts count_foreign(const std::string& p, const ForeignTrace& t, Counts& total) {
  Counts c;
  struct stat st{};
  c.bytes = ::stat(p.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  ForeignTraceVisitor v;
  v.instruction = [&](uint64_t pc, int lv) {
    c.instructions++;
    if (lv < 0) {
      c.privilege_known = false;
    } else {
      c.levels.add(uint8_t(lv));
    }
    c.pcs.insert(pc);
    total.pcs.insert(pc);
  };
  v.access = [&](uint64_t vaddr, unsigned size, bool store) {
    (store ? c.stores : c.loads)++;
    add_lines(c.lines, vaddr, size);
    add_lines(total.lines, vaddr, size);
  };
  v.marker = [&](std::string_view kind) { c.markers[std::string(kind)]++; };
  std::string problem = scan_foreign_trace(p, t, v);
  std::fprintf(stderr, "qemutrace: note: %s is %s; counted from its records%s\n", p.c_str(), t.what.c_str(),
               c.privilege_known ? "" : " (the format has no kernel/user split)");
  if (!problem.empty()) {
    c.complete = false;
    std::fprintf(stderr, "qemutrace: warning: %s: %s\n", p.c_str(), problem.c_str());
  }
  return c;
}

int core_from_name(const std::string& p, int fallback) {
  auto us = p.rfind('_');
  if (us == std::string::npos) return fallback;
  char* end = nullptr;
  long k = std::strtol(p.c_str() + us + 1, &end, 10);
  return end != p.c_str() + us + 1 && (*end == '\0' || *end == '.') ? int(k) : fallback;
}

// One file's counts into the run's (the sets of PCs and lines are merged
// while reading).
void add_to_total(Counts& total, const Counts& c) {
  static_cast<TraceCounts&>(total) += c;
  total.privilege_known = total.privilege_known && c.privilege_known;
}

int run_stats(const std::vector<std::string>& args, bool json) {
  std::vector<std::string> paths;
  for (const auto& a : args) for (auto& p : expand_trace_paths(a)) paths.push_back(p);
  std::vector<std::pair<int, Counts>> per_core;
  Counts total;
  for (const auto& p : paths) {
    if (auto foreign = recognise_foreign_trace(p)) {
      Counts c = count_foreign(p, *foreign, total);
      add_to_total(total, c);
      per_core.emplace_back(core_from_name(p, int(per_core.size())), std::move(c));
      continue;
    }
    auto r = CoreReader::open(p);
    Counts c;
    struct stat st{};
    c.bytes = ::stat(p.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
    if (!r->state().damage.empty()) {
      c.complete = false;
      std::fprintf(stderr, "qemutrace: warning: %s: %s\n", p.c_str(), r->state().damage.c_str());
    }
    while (const Instruction* in = r->next()) {
      c.instructions++;
      c.levels.add(in->level);
      c.pcs.insert(in->pc);
      for (uint32_t i = 0; i < in->access_count; i++) {
        const MemAccess& a = in->accesses[i];
        (a.is_store ? c.stores : c.loads)++;
        add_lines(c.lines, a.vaddr, a.size);
        add_lines(total.lines, a.vaddr, a.size);
      }
      for (uint32_t i = 0; i < in->marker_count; i++) count_marker(c, in->markers[i]);
      total.pcs.insert(in->pc);
    }
    for (const Marker& m : r->tail_markers()) count_marker(c, m);
    add_to_total(total, c);
    per_core.emplace_back(r->header().core, std::move(c));
  }
  if (json) {
    nlohmann::json j;
    j["cores"] = nlohmann::json::array();
    for (auto& [core, c] : per_core) {
      nlohmann::json x = to_json(c);
      x["core"] = core;
      j["cores"].push_back(x);
    }
    j["total"] = to_json(total);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  auto row = [](const std::string& who, const Counts& c) {
    auto priv = [&](uint64_t n) { return c.privilege_known ? std::to_string(n) : std::string("-"); };
    std::printf("%s\n", fmt::format("{:>6} {:>14} {:>12} {:>12} {:>14} {:>14} {:>10} {:>12} {:>12} {:>8.3f}", who,
                                    c.instructions, c.loads, c.stores, priv(c.levels.kernel()), priv(c.levels.user()), c.pcs.size(),
                                    c.lines.size(), c.bytes,
                                    c.instructions ? double(c.bytes) / double(c.instructions) : 0.0)
                            .c_str());
  };
  std::printf("%s\n", fmt::format("{:>6} {:>14} {:>12} {:>12} {:>14} {:>14} {:>10} {:>12} {:>12} {:>8}", "core",
                                  "instructions", "loads", "stores", "kernel", "user", "pcs", "data_lines",
                                  "bytes", "B/insn")
                          .c_str());
  for (auto& [core, c] : per_core) row(std::to_string(core), c);
  row("total", total);
  // Traces without levels have neither; the table keeps its columns.
  if (total.levels.hypervisor() || total.levels.nested()) {
    for (auto& [core, c] : per_core)
      std::printf("%s\n", fmt::format("levels core {}: hypervisor={} nested={}", core, c.levels.hypervisor(),
                                      c.levels.nested())
                              .c_str());
    std::printf("%s\n", fmt::format("levels total: hypervisor={} nested={}", total.levels.hypervisor(),
                                    total.levels.nested())
                            .c_str());
  }
  if (!total.markers.empty()) {
    std::string m;
    for (auto& [k, v] : total.markers) m += fmt::format(" {}={}", k, v);
    std::printf("markers:%s\n", m.c_str());
  }
  return 0;
}

QEMUTRACE_SUBCOMMAND(stats, [](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand("stats", "Count instructions, accesses, markers and bytes per core");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "Trace files, a run base or a manifest BASE.json")->required();
  cmd->add_flag("--json", *json, "Print JSON: {\"cores\": [...], \"total\": {...}}");
  return [files, json] { return run_stats(*files, *json); };
});

}  // namespace
}  // namespace qemutrace::cli
