// A campaign's state on disk, shared by every back end:
//   DIR/campaign.json      the jobs (written when a plan is run)
//   DIR/<job>/job.json     one job's record (written by whoever moves it on)
// Each file is replaced whole (temp file + rename), so a reader sees either
// the old or the new record, on one machine or on a cluster's shared disk.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "campaign/expand.h"

namespace qemutrace::campaign {

enum class Phase { Pending, Submitted, Running, Done, Failed };
const char* phase_name(Phase p);

struct JobRecord {
  Phase phase = Phase::Pending;
  int exit_status = -1;       // qemutrace run's, once Done or Failed
  double started = 0, ended = 0;  // seconds since the epoch
  std::string backend;        // local or slurm
  std::string host;
  long pid = 0;               // the job's runner on host
  std::string slurm_job;      // ARRAY_TASK, once submitted to Slurm
};

// The campaign file: the plan it came from and its jobs in order (a Slurm
// array task finds its job by index).
struct Campaign {
  std::string plan_path;
  std::vector<Job> jobs;
};

void write_campaign(const std::string& dir, const Campaign& c);
// Throws PlanError naming the file when it is missing or not a campaign.
Campaign read_campaign(const std::string& dir);

void write_record(const std::string& dir, const std::string& id, const JobRecord& r);
std::optional<JobRecord> read_record(const std::string& dir, const std::string& id);

// What a job is now, as status shows it.
enum class Status { Pending, Queued, Running, Done, Failed, Incomplete };
const char* status_name(Status s);

// alive(record) says whether the job's runner or Slurm task still exists
// (nullopt: cannot tell). A Submitted or Running job whose process is gone
// is Incomplete.
template <class Alive>
Status job_status(const std::optional<JobRecord>& r, Alive alive) {
  if (!r) return Status::Pending;
  switch (r->phase) {
    case Phase::Pending: return Status::Pending;
    case Phase::Done: return Status::Done;
    case Phase::Failed: return Status::Failed;
    case Phase::Submitted:
    case Phase::Running: {
      std::optional<bool> a = alive(*r);
      if (a && !*a) return Status::Incomplete;
      return r->phase == Phase::Submitted ? Status::Queued : Status::Running;
    }
  }
  return Status::Pending;
}

}  // namespace qemutrace::campaign
