// The run's manifest (BASE.json) as the report shows it: command line,
// QEMU version, cores, options, events and totals.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "qemutrace/reader.h"  // TraceError
#include "qemutrace/report.h"

namespace qemutrace {
namespace {

bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// BASE.json for BASE.json, BASE or one of its files BASE_<k>; "" if none.
std::string manifest_path(const std::string& arg) {
  if (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0) return arg;
  if (!is_file(arg) && is_file(arg + ".json")) return arg + ".json";
  auto us = arg.rfind('_');
  if (us != std::string::npos && us + 1 < arg.size() &&
      arg.find_first_not_of("0123456789", us + 1) == std::string::npos && is_file(arg.substr(0, us) + ".json"))
    return arg.substr(0, us) + ".json";
  return "";
}

std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string clock_text(const nlohmann::json& c) {
  if (!c.is_object()) return text_of(c);
  std::string s = c.value("kind", "");
  if (c.contains("icount")) s += " (-icount " + text_of(c["icount"]) + ")";
  return s;
}

}  // namespace

RunFacts read_run_facts(const std::string& path_or_base) {
  RunFacts f;
  std::string path = manifest_path(path_or_base);
  if (path.empty()) return f;
  std::ifstream in(path);
  if (!in) throw TraceError(path + ": cannot open manifest");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw TraceError(path + ": not a qemutrace run manifest");
  f.has_manifest = true;
  f.complete = j.value("complete", false);
  if (j.contains("command_line") && j["command_line"].is_array())
    for (const auto& a : j["command_line"]) f.command_line.push_back(text_of(a));
  f.qemu_version = text_of(j.value("qemu_version", nlohmann::json()));
  f.isa = text_of(j.value("isa", nlohmann::json()));
  f.format = text_of(j.value("format", nlohmann::json()));
  f.clock = clock_text(j.value("clock", nlohmann::json()));
  if (j.contains("cores") && j["cores"].is_number_integer()) f.cores = j["cores"].get<int>();
  if (j.contains("options") && j["options"].is_object())
    for (const auto& [k, v] : j["options"].items()) f.options.emplace_back(k, text_of(v));
  if (j.contains("events") && j["events"].is_array()) {
    for (const auto& e : j["events"]) {
      if (!e.is_object()) continue;
      if (f.events.size() == kReportManifestEvents) { f.events_left_off++; continue; }
      RunFacts::Event x;
      if (e.contains("time_ns") && e["time_ns"].is_number_unsigned()) x.time_ns = e["time_ns"].get<uint64_t>();
      x.event = text_of(e.value("event", nlohmann::json()));
      x.source = text_of(e.value("source", nlohmann::json()));
      x.detail = text_of(e.value("detail", nlohmann::json()));
      if (e.contains("id") && e["id"].is_number_integer()) x.id = e["id"].get<int>();
      if (e.contains("core") && e["core"].is_number_integer()) x.core = e["core"].get<int>();
      f.events.push_back(std::move(x));
    }
  }
  if (j.contains("totals") && j["totals"].is_object())
    for (const auto& [k, v] : j["totals"].items())
      if (v.is_number_unsigned()) f.totals[k] = v.get<uint64_t>();
  return f;
}

}  // namespace qemutrace
