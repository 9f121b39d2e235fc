#include "campaign/expand.h"

#include <set>

namespace qemutrace::campaign {
namespace {

// Job names are directory names: anything but [A-Za-z0-9.+-] becomes '-'.
std::string name_part(const std::string& v) {
  std::string s = v;
  for (char& c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-')) c = '-';
  return s;
}

std::vector<std::string> run_arguments(const Workload& w, const std::map<std::string, std::string>& v,
                                       const std::string& base) {
  std::vector<std::string> a = {"run", "--quiet", "--trace", base};
  for (const char* key : {"arch", "smp", "memory", "format", "clock", "start", "markers", "limit", "skip", "window",
                          "every"}) {
    const std::string& val = v.at(key);
    if (val.empty()) continue;
    a.push_back(std::string(key) == "memory" ? "-m" : "--" + std::string(key));
    a.push_back(val);
  }
  if (v.at("exit_on_limit") == "true") a.push_back("--exit-on-limit");
  if (!w.program.empty()) {
    a.insert(a.end(), {"--program", w.program});
    if (!w.args.empty()) a.insert(a.end(), {"--args", w.args});
  } else {
    a.insert(a.end(), {"--hda", w.image});
    if (!w.kernel.empty()) a.insert(a.end(), {"--kernel", w.kernel});
    if (!w.initrd.empty()) a.insert(a.end(), {"--initrd", w.initrd});
    if (!w.append.empty()) a.insert(a.end(), {"--append", w.append});
  }
  return a;
}

}  // namespace

std::string job_dir(const std::string& campaign_dir, const std::string& id) { return campaign_dir + "/" + id; }

std::string job_trace_base(const std::string& campaign_dir, const std::string& id) {
  return job_dir(campaign_dir, id) + "/trace";
}

std::string settings_text(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string s;
  for (const auto& [k, v] : settings) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

std::vector<Job> expand_plan(const Plan& plan, const std::string& campaign_dir) {
  // A job is named by every setting the plan gives anywhere, so that adding
  // a value to a list later leaves the names of the jobs already run alone.
  std::set<std::string> named;
  for (const auto& [k, _] : plan.matrix) named.insert(k);
  for (const Workload& w : plan.workloads)
    for (const auto& [k, _] : w.settings) named.insert(k);

  std::vector<Job> jobs;
  for (const Workload& w : plan.workloads) {
    std::vector<std::pair<std::string, std::vector<std::string>>> axes;
    for (const std::string& key : setting_keys()) {
      auto own = w.settings.find(key);
      auto all = plan.matrix.find(key);
      if (own != w.settings.end()) axes.emplace_back(key, own->second);
      else if (all != plan.matrix.end()) axes.emplace_back(key, all->second);
      else axes.emplace_back(key, std::vector<std::string>{setting_default(key)});
    }
    // Odometer over the axes, the last one turning fastest.
    std::vector<size_t> pos(axes.size(), 0);
    for (;;) {
      std::map<std::string, std::string> values;
      Job j;
      j.workload = w.name;
      j.id = name_part(w.name);
      for (size_t i = 0; i < axes.size(); ++i) {
        const auto& [key, vals] = axes[i];
        values[key] = vals[pos[i]];
        if (named.count(key)) {
          j.settings.emplace_back(key, vals[pos[i]]);
          j.id += "_" + name_part(key) + "-" + name_part(vals[pos[i]].empty() ? "none" : vals[pos[i]]);
        }
      }
      j.smp = std::stoi(values.at("smp"));
      j.run_args = run_arguments(w, values, job_trace_base(campaign_dir, j.id));
      j.console_input = w.command.empty() ? "" : w.command + "\n";
      jobs.push_back(std::move(j));
      size_t i = axes.size();
      while (i > 0 && ++pos[i - 1] == axes[i - 1].second.size()) pos[--i] = 0;
      if (i == 0) break;
    }
  }
  return jobs;
}

}  // namespace qemutrace::campaign
