#include <unistd.h>

#include <cstdio>

#include "campaign/backends.h"
#include "campaign/job.h"

namespace qemutrace::campaign {

ProgressLine::ProgressLine() : tty_(isatty(STDERR_FILENO)) {}

ProgressLine::~ProgressLine() {
  if (tty_ && !last_.empty()) std::fprintf(stderr, "\n");
}

bool ProgressLine::update(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs) {
  size_t done = 0, running = 0, failed = 0, waiting = 0;
  for (size_t i : jobs) {
    switch (current_status(dir, c.jobs[i])) {
      case Status::Done: done++; break;
      case Status::Running: running++; break;
      case Status::Failed:
      case Status::Incomplete: failed++; break;
      case Status::Pending:
      case Status::Queued: waiting++; break;
    }
  }
  std::string line = "campaign: " + std::to_string(done) + "/" + std::to_string(jobs.size()) + " done, " +
                     std::to_string(running) + " running, " + std::to_string(failed) + " failed";
  if (line != last_) {
    if (tty_) std::fprintf(stderr, "\r\033[K%s", line.c_str());
    else std::fprintf(stderr, "%s\n", line.c_str());
    last_ = line;
  }
  return running == 0 && waiting == 0;
}

}  // namespace qemutrace::campaign
