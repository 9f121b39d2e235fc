#include "campaign/state.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "campaign/plan.h"

namespace qemutrace::campaign {
namespace {

using nlohmann::json;

constexpr const char* kCampaignFile = "campaign.json";
constexpr const char* kRecordFile = "job.json";

void write_json_file(const std::string& path, const json& j) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << j.dump(2) << "\n";
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw PlanError("cannot write " + path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw PlanError("cannot write " + path);
  }
}

std::optional<json> read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

const Phase kPhases[] = {Phase::Pending, Phase::Submitted, Phase::Running, Phase::Done, Phase::Failed};

}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Pending: return "pending";
    case Phase::Submitted: return "submitted";
    case Phase::Running: return "running";
    case Phase::Done: return "done";
    case Phase::Failed: return "failed";
  }
  return "?";
}

const char* status_name(Status s) {
  switch (s) {
    case Status::Pending: return "pending";
    case Status::Queued: return "queued";
    case Status::Running: return "running";
    case Status::Done: return "done";
    case Status::Failed: return "failed";
    case Status::Incomplete: return "incomplete";
  }
  return "?";
}

void write_campaign(const std::string& dir, const Campaign& c) {
  json j;
  j["qemutrace_campaign"] = 1;
  j["plan"] = c.plan_path;
  j["jobs"] = json::array();
  for (const Job& job : c.jobs) {
    json s = json::array();
    for (const auto& [k, v] : job.settings) s.push_back({k, v});
    j["jobs"].push_back({{"id", job.id},
                         {"workload", job.workload},
                         {"settings", s},
                         {"smp", job.smp},
                         {"run_args", job.run_args},
                         {"console_input", job.console_input}});
  }
  write_json_file(dir + "/" + kCampaignFile, j);
}

Campaign read_campaign(const std::string& dir) {
  std::string path = dir + "/" + kCampaignFile;
  auto j = read_json_file(path);
  if (!j) throw PlanError(path + ": missing or not JSON: is " + dir + " a campaign directory?");
  Campaign c;
  try {
    if (j->value("qemutrace_campaign", 0) != 1) throw PlanError(path + ": not a campaign file of this version");
    c.plan_path = j->value("plan", std::string());
    for (const json& x : j->at("jobs")) {
      Job job;
      job.id = x.at("id").get<std::string>();
      job.workload = x.at("workload").get<std::string>();
      for (const json& s : x.at("settings")) job.settings.emplace_back(s.at(0).get<std::string>(), s.at(1).get<std::string>());
      job.smp = x.at("smp").get<int>();
      job.run_args = x.at("run_args").get<std::vector<std::string>>();
      job.console_input = x.value("console_input", std::string());
      c.jobs.push_back(std::move(job));
    }
  } catch (const json::exception& e) {
    throw PlanError(path + ": malformed campaign file (" + e.what() + ")");
  }
  return c;
}

void write_record(const std::string& dir, const std::string& id, const JobRecord& r) {
  json j = {{"phase", phase_name(r.phase)}, {"exit_status", r.exit_status}, {"started", r.started},
            {"ended", r.ended},             {"backend", r.backend},         {"host", r.host},
            {"pid", r.pid},                 {"slurm_job", r.slurm_job}};
  write_json_file(job_dir(dir, id) + "/" + kRecordFile, j);
}

std::optional<JobRecord> read_record(const std::string& dir, const std::string& id) {
  auto j = read_json_file(job_dir(dir, id) + "/" + kRecordFile);
  if (!j || !j->is_object()) return std::nullopt;
  JobRecord r;
  std::string phase = j->value("phase", std::string());
  bool known = false;
  for (Phase p : kPhases)
    if (phase == phase_name(p)) r.phase = p, known = true;
  if (!known) return std::nullopt;
  r.exit_status = j->value("exit_status", -1);
  r.started = j->value("started", 0.0);
  r.ended = j->value("ended", 0.0);
  r.backend = j->value("backend", std::string());
  r.host = j->value("host", std::string());
  r.pid = j->value("pid", 0L);
  r.slurm_job = j->value("slurm_job", std::string());
  return r;
}

}  // namespace qemutrace::campaign
