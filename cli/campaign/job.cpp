#include "campaign/job.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "campaign/plan.h"
#include "launcher/util.h"

namespace qemutrace::campaign {
namespace {

namespace fs = std::filesystem;

double wall_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// Files of an earlier attempt: a failed or cut-off run's trace and log must
// not be taken for this attempt's.
void clear_attempt(const std::string& jdir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(jdir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("trace", 0) == 0 || name == "run.log") fs::remove(e.path(), ec);
  }
}

}  // namespace

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw PlanError("cannot find this executable (/proc/self/exe)");
  buf[n] = 0;
  return buf;
}

std::string this_host() {
  char h[HOST_NAME_MAX + 1] = {};
  gethostname(h, sizeof h - 1);
  return h;
}

int run_job(const std::string& dir, size_t index) {
  Campaign c = read_campaign(dir);
  if (index >= c.jobs.size())
    throw PlanError("job index " + std::to_string(index) + " out of range: " + dir + " has " +
                    std::to_string(c.jobs.size()) + " jobs");
  const Job& job = c.jobs[index];
  std::string jdir = job_dir(dir, job.id);
  std::error_code ec;
  fs::create_directories(jdir, ec);
  if (ec) throw PlanError("cannot create " + jdir + ": " + ec.message());
  clear_attempt(jdir);

  JobRecord r;
  r.phase = Phase::Running;
  r.started = wall_now();
  r.host = this_host();
  r.pid = getpid();
  const char* array = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
  r.backend = array && task ? "slurm" : "local";
  if (array && task) r.slurm_job = std::string(array) + "_" + task;
  write_record(dir, job.id, r);

  std::string log = jdir + "/run.log";
  int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw PlanError("cannot create " + log + ": " + std::strerror(errno));
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw PlanError(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv = {self_exe()};
  argv.insert(argv.end(), job.run_args.begin(), job.run_args.end());
  {
    std::ofstream l(log);
    l << "qemutrace campaign: " << launcher::join_command(argv) << "\n";
  }
  lseek(out, 0, SEEK_END);
  pid_t pid = fork();
  if (pid < 0) throw PlanError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "qemutrace: cannot run %s: %s\n", argv[0].c_str(), std::strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out);
  signal(SIGPIPE, SIG_IGN);
  // The console input of a disk image workload; the rest of stdin is EOF.
  if (!job.console_input.empty()) {
    ssize_t n = write(in[1], job.console_input.data(), job.console_input.size());
    (void)n;
  }
  close(in[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.phase = rc == 0 ? Phase::Done : Phase::Failed;
  r.exit_status = rc;
  r.ended = wall_now();
  write_record(dir, job.id, r);
  return rc;
}

bool trace_holds(const std::string& dir, const Job& job, std::string* why) {
  std::string base = job_trace_base(dir, job.id);
  std::ifstream f(base + ".json");
  nlohmann::json m = nlohmann::json::parse(f, nullptr, false);
  if (m.is_discarded() || !m.is_object()) {
    *why = "no readable manifest " + base + ".json";
    return false;
  }
  if (!m.value("complete", false)) {
    *why = "the manifest says the trace is not complete";
    return false;
  }
  std::string format = m.value("format", std::string());
  if (format == "binary") {
    std::string out, err;
    int rc = launcher::run_capture({self_exe(), "verify", base + ".json"}, &out, &err);
    if (rc != 0) *why = "qemutrace verify " + base + ".json fails";
    return rc == 0;
  }
  for (const auto& file : m.value("files", nlohmann::json::array())) {
    std::string p = file.value("path", std::string());
    if (!p.empty() && p[0] != '/') p = launcher::dirname_of(base) + "/" + p;
    struct stat st{};
    if (p.empty() || ::stat(p.c_str(), &st) != 0) {
      *why = "trace file " + p + " is missing";
      return false;
    }
    if (file.contains("bytes") && file["bytes"].is_number_unsigned() &&
        file["bytes"].get<uint64_t>() != uint64_t(st.st_size)) {
      *why = "trace file " + p + " is not the size the manifest records";
      return false;
    }
  }
  return true;
}

std::optional<bool> job_alive(const JobRecord& r) {
  if (r.phase == Phase::Running && r.host == this_host() && r.pid > 0)
    return kill(pid_t(r.pid), 0) == 0 || errno == EPERM;
  if (!r.slurm_job.empty() && launcher::which("squeue")) {
    std::string out, err;
    int rc = launcher::run_capture({"squeue", "--noheader", "--jobs", r.slurm_job, "--format", "%T"}, &out, &err);
    // squeue forgets finished jobs (and then calls the id invalid).
    if (rc != 0) return err.find("Invalid job id") != std::string::npos ? std::optional<bool>(false) : std::nullopt;
    return !launcher::trim(out).empty();
  }
  return std::nullopt;
}

Status current_status(const std::string& dir, const Job& job) {
  return job_status(read_record(dir, job.id), job_alive);
}

}  // namespace qemutrace::campaign
