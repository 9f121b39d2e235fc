#include "campaign/summary.h"

#include <fmt/format.h>

#include <fstream>

#include "campaign/job.h"
#include "launcher/summary.h"
#include "launcher/util.h"

namespace qemutrace::campaign {
namespace {

long long count_of(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<long long>() : -1;
}

// Where `qemutrace report` leaves a job's page, if it was run.
std::string report_of(const std::string& dir, const Job& job) {
  for (const std::string& name : {std::string("report.html"), std::string("trace.html")}) {
    std::string rel = job.id + "/" + name;
    if (launcher::is_regular_file(dir + "/" + rel)) return rel;
  }
  return "";
}

std::string status_text(const SummaryRow& r) {
  std::string s = status_name(r.status);
  if ((r.status == Status::Done || r.status == Status::Failed) && r.exit_status >= 0)
    s += " (" + std::to_string(r.exit_status) + ")";
  return s;
}

}  // namespace

std::vector<SummaryRow> summary_rows(const std::string& dir, const Campaign& c) {
  std::vector<SummaryRow> rows;
  for (const Job& job : c.jobs) {
    SummaryRow r;
    r.job = job.id;
    r.workload = job.workload;
    r.settings = settings_text(job.settings);
    auto rec = read_record(dir, job.id);
    r.status = job_status(rec, job_alive);
    if (rec) r.exit_status = rec->exit_status;
    std::ifstream f(job_trace_base(dir, job.id) + ".json");
    nlohmann::json m = nlohmann::json::parse(f, nullptr, false);
    if (!m.is_discarded() && m.is_object() && m.contains("totals")) {
      r.instructions = count_of(m["totals"], "instructions");
      r.kernel_instructions = count_of(m["totals"], "kernel_instructions");
      r.bytes = count_of(m["totals"], "bytes");
      r.seconds = launcher::traced_seconds(m);
    }
    if (r.seconds <= 0 && rec && rec->ended > rec->started) r.seconds = rec->ended - rec->started;
    r.report = report_of(dir, job);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string summary_table(const std::vector<SummaryRow>& rows) {
  size_t wj = 3, ww = 8, ws = 8;
  for (const auto& r : rows) {
    wj = std::max(wj, r.job.size());
    ww = std::max(ww, r.workload.size());
    ws = std::max(ws, r.settings.size());
  }
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>14}  {:>7}  {:>8}  {:>8}  {:<14}  {}\n", "job", wj,
                                "workload", ww, "settings", ws, "instructions", "kernel", "B/insn", "MIPS", "status",
                                "report");
  for (const auto& r : rows) {
    bool counted = r.instructions > 0;
    std::string insns = r.instructions >= 0 ? std::to_string(r.instructions) : "-";
    std::string kernel = counted && r.kernel_instructions >= 0
                             ? fmt::format("{:.1f}%", 100.0 * double(r.kernel_instructions) / double(r.instructions))
                             : "-";
    std::string bpi = counted && r.bytes >= 0 ? fmt::format("{:.3f}", double(r.bytes) / double(r.instructions)) : "-";
    std::string mips = counted && r.seconds > 0 ? fmt::format("{:.1f}", double(r.instructions) / r.seconds / 1e6) : "-";
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>14}  {:>7}  {:>8}  {:>8}  {:<14}  {}\n", r.job, wj, r.workload, ww,
                       r.settings, ws, insns, kernel, bpi, mips, status_text(r), r.report.empty() ? "-" : r.report);
  }
  return out;
}

nlohmann::json summary_json(const std::vector<SummaryRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows) {
    auto opt = [](long long v) { return v >= 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
    bool counted = r.instructions > 0;
    a.push_back({{"job", r.job},
                 {"workload", r.workload},
                 {"settings", r.settings},
                 {"status", status_name(r.status)},
                 {"exit_status", r.exit_status >= 0 ? nlohmann::json(r.exit_status) : nlohmann::json(nullptr)},
                 {"instructions", opt(r.instructions)},
                 {"kernel_instructions", opt(r.kernel_instructions)},
                 {"kernel_share", counted && r.kernel_instructions >= 0
                                      ? nlohmann::json(double(r.kernel_instructions) / double(r.instructions))
                                      : nlohmann::json(nullptr)},
                 {"bytes", opt(r.bytes)},
                 {"bytes_per_instruction",
                  counted && r.bytes >= 0 ? nlohmann::json(double(r.bytes) / double(r.instructions)) : nlohmann::json(nullptr)},
                 {"seconds", r.seconds},
                 {"mips", counted && r.seconds > 0 ? nlohmann::json(double(r.instructions) / r.seconds / 1e6)
                                                   : nlohmann::json(nullptr)},
                 {"report", r.report.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.report)}});
  }
  return {{"jobs", a}};
}

}  // namespace qemutrace::campaign
