// The local back end: one `qemutrace campaign job` child per job, at most
// `parallel` at a time.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "campaign/backends.h"
#include "campaign/job.h"

namespace qemutrace::campaign {

size_t run_local(const std::string& dir, const Campaign& c, const std::vector<size_t>& jobs, int parallel) {
  std::string exe = self_exe();
  ProgressLine progress;
  std::map<pid_t, size_t> running;
  size_t next = 0, failed = 0;
  progress.update(dir, c, jobs);
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && int(running.size()) < parallel) {
      std::string index = std::to_string(jobs[next]);
      pid_t pid = fork();
      if (pid < 0) throw PlanError(std::string("fork: ") + std::strerror(errno));
      if (pid == 0) {
        execl(exe.c_str(), exe.c_str(), "campaign", "job", dir.c_str(), index.c_str(), (char*)nullptr);
        _exit(127);
      }
      running[pid] = jobs[next++];
    }
    // Reap what ended; redraw the progress line now and then meanwhile.
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid > 0) {
      if (running.erase(pid) && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) failed++;
    } else {
      usleep(200 * 1000);
    }
    progress.update(dir, c, jobs);
  }
  return failed;
}

}  // namespace qemutrace::campaign
