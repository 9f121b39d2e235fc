// A plan's jobs: every workload crossed with every combination of its
// settings, each one `qemutrace run` with its own trace base.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "campaign/plan.h"

namespace qemutrace::campaign {

struct Job {
  std::string id;        // unique in the campaign; the name of its directory
  std::string workload;
  // The settings the plan gives (matrix or workload), resolved, in
  // setting_keys() order; the other settings keep qemutrace run's defaults.
  std::vector<std::pair<std::string, std::string>> settings;
  int smp = 2;
  // The arguments of qemutrace (starting with "run").
  std::vector<std::string> run_args;
  std::string console_input;  // written to the guest's console (disk images)
};

// The directory and trace base of a job in the campaign directory.
std::string job_dir(const std::string& campaign_dir, const std::string& id);
std::string job_trace_base(const std::string& campaign_dir, const std::string& id);

// Jobs in plan order: workloads in order, the first setting varying slowest.
std::vector<Job> expand_plan(const Plan& plan, const std::string& campaign_dir);

// "smp=2 format=binary"
std::string settings_text(const std::vector<std::pair<std::string, std::string>>& settings);

}  // namespace qemutrace::campaign
