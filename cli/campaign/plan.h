// A campaign plan (docs/guide.md, "Campaigns"): workloads, a matrix of run
// settings and an output directory, read from a TOML file.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace qemutrace::campaign {

// A plan that cannot be used; what() is one line naming the file and place.
struct PlanError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The settings a plan may vary, in the order job names list them.
const std::vector<std::string>& setting_keys();
// The value a job gets for a setting the plan does not give (qemutrace run's
// default).
std::string setting_default(const std::string& key);

// Each setting's values in the plan's order; a scalar in the file is a
// list of one.
using Settings = std::map<std::string, std::vector<std::string>>;

struct Workload {
  std::string name;
  // The built-in guest: a built-in program name or a static program's path.
  std::string program, args;
  // Or a disk image, optionally with a kernel; command is written to the
  // guest's console once QEMU runs.
  std::string image, kernel, initrd, append, command;
  Settings settings;  // replaces the matrix's values for this workload
};

// What a Slurm job array asks for (cpus per task come from smp).
struct SlurmResources {
  std::string memory, time, partition;
  std::vector<std::string> sbatch_args;
};

struct Plan {
  std::string path;    // the plan file, absolute
  std::string output;  // absolute
  Settings matrix;
  std::vector<Workload> workloads;
  SlurmResources slurm;
};

// Paths in the plan are relative to the plan file's directory (base_dir).
Plan parse_plan(const std::string& text, const std::string& source_name, const std::string& base_dir);
Plan read_plan(const std::string& path);

}  // namespace qemutrace::campaign
