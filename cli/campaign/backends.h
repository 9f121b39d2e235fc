// The two ways to run a campaign's jobs; both start `qemutrace campaign job
// DIR INDEX` per job (campaign/job.h) and follow the records it writes.
#pragma once

#include <string>
#include <vector>

#include "campaign/plan.h"
#include "campaign/state.h"

namespace qemutrace::campaign {

// Prints "campaign: D/N done, R running, F failed" for the jobs given,
// when the counts change (redrawn in place on a terminal).
class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();
  // Returns true once none of the jobs is pending, queued or running.
  bool update(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs);

 private:
  bool tty_;
  std::string last_;
};

// Runs the jobs on this machine, at most `parallel` at once. Returns the
// number that failed.
size_t run_local(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs, int parallel);

// Submits the jobs as one Slurm job array; waits for them unless no_wait.
// Returns the number that failed (0 when not waiting). Throws PlanError
// when sbatch refuses.
size_t run_slurm(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs,
                 const SlurmResources& res, bool no_wait);

}  // namespace qemutrace::campaign
