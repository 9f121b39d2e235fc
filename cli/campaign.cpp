// qemutrace campaign PLAN [--on local|slurm] [-j N] [--no-wait]: runs every
// job of a plan (campaign/plan.h) locally or as one Slurm job array.
// qemutrace campaign status DIR / summary DIR [--json]: where it stands and
// what it traced. qemutrace campaign job DIR INDEX: one job (what the back
// ends start).
#include <filesystem>
#include <set>
#include <thread>

#include "campaign/backends.h"
#include "campaign/job.h"
#include "campaign/summary.h"
#include "launcher/guest_image.h"
#include "launcher/util.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::campaign;
namespace fs = std::filesystem;

struct CampaignOptions {
  std::string plan, on = "local", output;
  int parallel = 0;
  bool no_wait = false, dry_run = false;
  std::string dir;  // status, summary, job
  size_t index = 0;
  bool json = false;
};

// The jobs already in DIR keep their places (a queued Slurm task finds its
// job by index); the plan's new jobs follow. A job run before under the same
// name with another command is refused: its files would be taken for this
// plan's.
Campaign merge(const std::string& dir, const Plan& plan, const std::vector<Job>& jobs) {
  Campaign c;
  c.plan_path = plan.path;
  if (fs::exists(dir + "/campaign.json")) c = read_campaign(dir), c.plan_path = plan.path;
  for (const Job& j : jobs) {
    auto same = std::find_if(c.jobs.begin(), c.jobs.end(), [&](const Job& o) { return o.id == j.id; });
    if (same == c.jobs.end()) {
      c.jobs.push_back(j);
    } else if (same->run_args != j.run_args || same->console_input != j.console_input) {
      throw PlanError("job " + j.id + " in " + dir +
                      " was run with another command (the workload changed?): give another output directory");
    }
  }
  return c;
}

std::vector<size_t> plan_indices(const Campaign& c, const std::vector<Job>& jobs) {
  std::vector<size_t> out;
  for (const Job& j : jobs)
    for (size_t i = 0; i < c.jobs.size(); ++i)
      if (c.jobs[i].id == j.id) out.push_back(i);
  return out;
}

int run_plan(const CampaignOptions& o) {
  Plan plan = read_plan(o.plan);
  std::string dir = launcher::absolute_path(o.output.empty() ? plan.output : o.output);
  if (o.on != "local" && o.on != "slurm") throw PlanError("bad --on value '" + o.on + "': expected local or slurm");
  std::vector<Job> jobs = expand_plan(plan, dir);
  std::set<std::string> ids;
  for (const Job& j : jobs)
    if (!ids.insert(j.id).second) throw PlanError(plan.path + ": two jobs would both be named " + j.id);
  if (o.dry_run) {
    for (const Job& j : jobs) std::printf("%s: qemutrace %s\n", j.id.c_str(), launcher::join_command(j.run_args).c_str());
    return 0;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw PlanError("cannot create output directory " + dir + ": " + ec.message());
  Campaign c = merge(dir, plan, jobs);

  // Finished jobs whose traces hold are kept; queued or running ones are
  // left to finish; the rest run (again).
  std::vector<size_t> todo;
  size_t kept = 0, busy = 0;
  for (size_t i : plan_indices(c, jobs)) {
    const Job& j = c.jobs[i];
    Status s = current_status(dir, j);
    std::string why;
    if (s == Status::Done && trace_holds(dir, j, &why)) {
      kept++;
    } else if (s == Status::Queued || s == Status::Running) {
      busy++;
      std::fprintf(stderr, "campaign: %s is %s already; left to finish\n", j.id.c_str(), status_name(s));
    } else {
      if (s == Status::Done) std::fprintf(stderr, "campaign: %s: %s; running it again\n", j.id.c_str(), why.c_str());
      todo.push_back(i);
    }
  }
  write_campaign(dir, c);
  std::fprintf(stderr, "campaign: %zu jobs in %s: %zu to run, %zu done already%s\n", jobs.size(), dir.c_str(),
               todo.size(), kept, busy ? (", " + std::to_string(busy) + " still running").c_str() : "");
  // Each built-in guest image once, before jobs start at the same time.
  std::set<std::string> arches;
  for (size_t i : todo) {
    const auto& a = c.jobs[i].run_args;
    if (std::find(a.begin(), a.end(), "--program") == a.end()) continue;
    auto it = std::find(a.begin(), a.end(), "--arch");
    arches.insert(it != a.end() && it + 1 != a.end() ? *(it + 1) : "x86_64");
  }
  for (const auto& a : arches) launcher::ensure_guest(a, false, false);

  size_t failed;
  if (o.on == "local") {
    int parallel = o.parallel > 0 ? o.parallel : int(std::max(1u, std::thread::hardware_concurrency()));
    failed = run_local(dir, c, todo, parallel);
  } else {
    failed = run_slurm(dir, c, todo, plan.slurm, o.no_wait);
    if (o.no_wait) {
      std::fprintf(stderr, "campaign: follow it with: qemutrace campaign status %s\n", dir.c_str());
      return 0;
    }
  }
  if (failed) return fail(std::to_string(failed) + " of " + std::to_string(todo.size()) +
                          " jobs failed; their logs: " + dir + "/<job>/run.log (qemutrace campaign status " + dir + ")");
  return 0;
}

int show_status(const std::string& dir) {
  Campaign c = read_campaign(dir);
  std::map<Status, size_t> count;
  for (const Job& j : c.jobs) {
    auto r = read_record(dir, j.id);
    Status s = job_status(r, job_alive);
    count[s]++;
    std::string detail;
    if (r && (s == Status::Done || s == Status::Failed)) detail = "exit " + std::to_string(r->exit_status);
    if (r && !r->slurm_job.empty()) detail += (detail.empty() ? "" : ", ") + std::string("slurm ") + r->slurm_job;
    if (r && s == Status::Running && !r->host.empty()) detail += (detail.empty() ? "" : ", ") + std::string("on ") + r->host;
    std::printf("%-11s %s%s\n", status_name(s), j.id.c_str(), detail.empty() ? "" : ("  (" + detail + ")").c_str());
  }
  std::string line;
  for (Status s : {Status::Done, Status::Running, Status::Queued, Status::Failed, Status::Incomplete, Status::Pending})
    if (count[s]) line += (line.empty() ? "" : ", ") + std::to_string(count[s]) + " " + status_name(s);
  std::printf("%zu jobs: %s\n", c.jobs.size(), line.c_str());
  return 0;
}

int show_summary(const std::string& dir, bool json) {
  Campaign c = read_campaign(dir);
  auto rows = summary_rows(dir, c);
  if (json) std::printf("%s\n", summary_json(rows).dump(2).c_str());
  else std::printf("%s", summary_table(rows).c_str());
  return 0;
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<CampaignOptions>();
  auto* cmd = app.add_subcommand("campaign", "Trace many workloads and settings: locally or as a Slurm job array");
  cmd->add_option("plan", o->plan, "The plan (TOML): workloads, [settings] matrix, output directory");
  cmd->add_option("--on", o->on, "Where the jobs run: local or slurm")->capture_default_str();
  cmd->add_option("-j,--jobs", o->parallel, "Local: jobs at once (default: host cores)");
  cmd->add_flag("--no-wait", o->no_wait, "Slurm: return once the job array is submitted");
  cmd->add_option("-o,--output", o->output, "Output directory (default: the plan's output)");
  cmd->add_flag("--dry-run", o->dry_run, "List the jobs and their commands; run nothing");
  auto* status = cmd->add_subcommand("status", "What is done, running, queued and failed");
  status->add_option("dir", o->dir, "Campaign output directory")->required();
  auto* summary = cmd->add_subcommand("summary", "One row per job: instructions, kernel share, bytes/insn, MIPS, exit");
  summary->add_option("dir", o->dir, "Campaign output directory")->required();
  summary->add_flag("--json", o->json, "Print JSON: {\"jobs\": [...]}");
  auto* job = cmd->add_subcommand("job", "Run one job of a campaign (what the back ends start)");
  job->add_option("dir", o->dir, "Campaign output directory")->required();
  job->add_option("index", o->index, "The job's index in DIR/campaign.json")->required();
  job->group("");  // internal: not listed in --help
  cmd->footer(
      "Examples:\n"
      "  qemutrace campaign examples/campaign.toml -j 2\n"
      "  qemutrace campaign examples/campaign.toml --on slurm --no-wait\n"
      "  qemutrace campaign status campaign-out\n"
      "  qemutrace campaign summary campaign-out --json\n");
  return [o, cmd, status, summary, job]() -> int {
    if (!cmd->parsed()) return 0;
    try {
      if (status->parsed()) return show_status(launcher::absolute_path(o->dir));
      if (summary->parsed()) return show_summary(launcher::absolute_path(o->dir), o->json);
      if (job->parsed()) return run_job(launcher::absolute_path(o->dir), o->index);
      if (o->plan.empty()) return fail("campaign needs a PLAN (or status DIR, summary DIR)");
      return run_plan(*o);
    } catch (const PlanError& e) {
      return fail(e.what());
    } catch (const launcher::LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(campaign, setup);
}  // namespace qemutrace::cli
