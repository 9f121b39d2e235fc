// The Slurm back end: one job array (sbatch --array), one task per job. The
// array is submitted held, the records say "submitted" with each task's id,
// then it is released: a task that starts at once cannot be overwritten.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "campaign/backends.h"
#include "campaign/job.h"
#include "launcher/util.h"

namespace qemutrace::campaign {
namespace {

std::string submit_script(const std::string& dir) {
  std::string script = dir + "/slurm/array.sh";
  std::error_code ec;
  std::filesystem::create_directories(dir + "/slurm", ec);
  std::ofstream f(script, std::ios::trunc);
  f << "#!/bin/sh\n"
    << "# One task of a qemutrace campaign: task i runs job i of campaign.json.\n"
    << "exec " << launcher::shell_quote(self_exe()) << " campaign job " << launcher::shell_quote(dir)
    << " \"$SLURM_ARRAY_TASK_ID\"\n";
  f.close();
  if (!f || chmod(script.c_str(), 0755) != 0) throw PlanError("cannot write " + script);
  return script;
}

std::string first_line(const std::string& s) { return launcher::trim(s.substr(0, s.find('\n'))); }

}  // namespace

size_t run_slurm(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs,
                 const SlurmResources& res, bool no_wait) {
  if (jobs.empty()) return 0;
  for (const char* tool : {"sbatch", "scontrol", "squeue"})
    if (!launcher::which(tool)) throw PlanError(std::string("--on slurm needs ") + tool + " on PATH (Slurm's client tools)");
  std::string indices;
  int cpus = 1;
  for (size_t i : jobs) {
    indices += (indices.empty() ? "" : ",") + std::to_string(i);
    cpus = std::max(cpus, c.jobs[i].smp);  // one array: every task gets the most any job needs
  }
  std::vector<std::string> argv = {"sbatch", "--parsable", "--hold", "--array=" + indices,
                                   "--job-name=qemutrace-campaign", "--cpus-per-task=" + std::to_string(cpus),
                                   "--chdir=" + dir, "--output=" + dir + "/slurm/%A_%a.out"};
  if (!res.memory.empty()) argv.push_back("--mem=" + res.memory);
  if (!res.time.empty()) argv.push_back("--time=" + res.time);
  if (!res.partition.empty()) argv.push_back("--partition=" + res.partition);
  argv.insert(argv.end(), res.sbatch_args.begin(), res.sbatch_args.end());
  argv.push_back(submit_script(dir));
  std::string out, err;
  if (launcher::run_capture(argv, &out, &err) != 0)
    throw PlanError("sbatch refused the job array: " + first_line(err.empty() ? out : err));
  std::string array = first_line(out).substr(0, first_line(out).find(';'));

  for (size_t i : jobs) {
    JobRecord r;
    r.phase = Phase::Submitted;
    r.backend = "slurm";
    r.slurm_job = array + "_" + std::to_string(i);
    std::error_code ec;
    std::filesystem::create_directories(job_dir(dir, c.jobs[i].id), ec);
    write_record(dir, c.jobs[i].id, r);
  }
  if (launcher::run_capture({"scontrol", "release", array}, &out, &err) != 0) {
    launcher::run_capture({"scancel", array}, &out, &err);
    throw PlanError("scontrol release " + array + " failed: " + first_line(err));
  }
  std::fprintf(stderr, "campaign: submitted Slurm job array %s (%zu tasks, %d cpus each)\n", array.c_str(),
               jobs.size(), cpus);
  if (no_wait) return 0;

  ProgressLine progress;
  while (!progress.update(dir, c, jobs)) sleep(2);  // a poll of Slurm's state, not a wait for time to pass
  size_t failed = 0;
  for (size_t i : jobs)
    if (current_status(dir, c.jobs[i]) != Status::Done) failed++;
  return failed;
}

}  // namespace qemutrace::campaign
