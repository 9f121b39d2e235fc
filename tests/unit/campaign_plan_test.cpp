// Campaign plans: parsing (and the one-line errors of bad plans), the
// matrix expansion into jobs, and the job records on disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "campaign/expand.h"
#include "campaign/plan.h"
#include "campaign/state.h"
#include "launcher/guest_arch.h"
#include "launcher/util.h"

using namespace qemutrace::campaign;
using qemutrace::launcher::GuestArch;
using qemutrace::launcher::guest_arches;
using qemutrace::launcher::parse_count_option;

namespace {

Plan parse(const std::string& text) { return parse_plan(text, "plan.toml", "/plans"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const PlanError& e) {
    return e.what();
  }
  return "";
}

const char* kTwoByTwo = R"(
output = "out"
[settings]
smp = [1, 2]
format = ["binary", "champsim"]
clock = "virtual"
[[workload]]
name = "loop"
program = "qt-loop"
args = "1000"
[[workload]]
name = "mine"
program = "bin/prog"
smp = 4
)";

std::string arg_after(const Job& j, const std::string& flag) {
  auto it = std::find(j.run_args.begin(), j.run_args.end(), flag);
  return it == j.run_args.end() || it + 1 == j.run_args.end() ? "" : *(it + 1);
}

}  // namespace

TEST(CampaignPlan, ReadsWorkloadsMatrixAndPaths) {
  Plan p = parse(kTwoByTwo);
  EXPECT_EQ(p.output, "/plans/out");
  ASSERT_EQ(p.workloads.size(), 2u);
  EXPECT_EQ(p.workloads[0].program, "qt-loop");  // built-in name stays a name
  EXPECT_EQ(p.workloads[1].program, "/plans/bin/prog");
  EXPECT_EQ(p.matrix.at("smp"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(p.matrix.at("clock"), (std::vector<std::string>{"virtual"}));
  EXPECT_EQ(p.workloads[1].settings.at("smp"), (std::vector<std::string>{"4"}));
}

TEST(CampaignPlan, ExpandsEveryCombinationOncePerWorkload) {
  std::vector<Job> jobs = expand_plan(parse(kTwoByTwo), "/c");
  // loop: 2 smp x 2 formats; mine: its own smp 4 x 2 formats.
  ASSERT_EQ(jobs.size(), 6u);
  std::vector<std::string> ids;
  for (const Job& j : jobs) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "loop_smp-1_format-binary_clock-virtual", "loop_smp-1_format-champsim_clock-virtual",
                     "loop_smp-2_format-binary_clock-virtual", "loop_smp-2_format-champsim_clock-virtual",
                     "mine_smp-4_format-binary_clock-virtual", "mine_smp-4_format-champsim_clock-virtual"}));
  const Job& j = jobs[3];
  EXPECT_EQ(j.smp, 2);
  EXPECT_EQ(settings_text(j.settings), "smp=2 format=champsim clock=virtual");
  EXPECT_EQ(arg_after(j, "--trace"), "/c/loop_smp-2_format-champsim_clock-virtual/trace");
  EXPECT_EQ(arg_after(j, "--smp"), "2");
  EXPECT_EQ(arg_after(j, "--format"), "champsim");
  EXPECT_EQ(arg_after(j, "--clock"), "virtual");
  EXPECT_EQ(arg_after(j, "--program"), "qt-loop");
  EXPECT_EQ(arg_after(j, "--args"), "1000");
  EXPECT_EQ(j.run_args.front(), "run");
  EXPECT_EQ(arg_after(jobs[4], "--smp"), "4");
  EXPECT_EQ(arg_after(jobs[4], "--args"), "");
}

// The launcher's table decides which guests exist: every name and alias in
// it is a valid plan value, passed to run as written.
TEST(CampaignPlan, EveryGuestArchIsAcceptedAndPassedToRun) {
  std::vector<std::string> spellings;
  for (const GuestArch& a : guest_arches()) {
    spellings.push_back(a.name);
    spellings.insert(spellings.end(), a.aliases.begin(), a.aliases.end());
  }
  ASSERT_GE(spellings.size(), 3u);  // x86_64, i386, aarch64 at least
  std::string list;
  for (const std::string& s : spellings) list += (list.empty() ? "\"" : ", \"") + s + "\"";
  std::vector<Job> jobs = expand_plan(
      parse("output = \"out\"\n[settings]\narch = [" + list + "]\n[[workload]]\nname = \"loop\"\nprogram = \"qt-loop\"\n"),
      "/c");
  ASSERT_EQ(jobs.size(), spellings.size());
  for (size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(arg_after(jobs[i], "--arch"), spellings[i]);
}

TEST(CampaignPlan, AnArchNotInTheTableIsRefusedNamingTheChoices) {
  std::string e = error_of("output = \"o\"\n[settings]\narch = \"sparc\"\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n");
  EXPECT_NE(e.find("plan.toml:3:8: bad arch value 'sparc': expected x86_64, i386 or aarch64"), std::string::npos) << e;
}

TEST(CampaignPlan, DiskImageWorkloadAndLimits) {
  std::vector<Job> jobs = expand_plan(parse(R"(
output = "/abs"
[settings]
limit = ["1M", "10M"]
exit_on_limit = true
window = "1000"
every = "100000"
[[workload]]
name = "disk"
image = "img/disk.img"
kernel = "vmlinuz"
append = "console=ttyS0 root=/dev/sda"
command = "ls /"
)"),
                                      "/abs");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(arg_after(jobs[0], "--hda"), "/plans/img/disk.img");
  EXPECT_EQ(arg_after(jobs[0], "--kernel"), "/plans/vmlinuz");
  EXPECT_EQ(arg_after(jobs[0], "--append"), "console=ttyS0 root=/dev/sda");
  EXPECT_EQ(arg_after(jobs[1], "--limit"), "10M");
  EXPECT_EQ(arg_after(jobs[1], "--window"), "1000");
  EXPECT_EQ(arg_after(jobs[1], "--every"), "100000");
  EXPECT_NE(std::find(jobs[1].run_args.begin(), jobs[1].run_args.end(), "--exit-on-limit"), jobs[1].run_args.end());
  EXPECT_EQ(jobs[0].console_input, "ls /\n");
  EXPECT_EQ(std::find(jobs[0].run_args.begin(), jobs[0].run_args.end(), "--program"), jobs[0].run_args.end());
}

// Counts in a plan are spelled as for run: the launcher's parser decides.
// The table says what both must do, so that neither can drift alone.
TEST(CampaignPlan, CountsAreSpelledAsForRun) {
  struct Case {
    const char* value;
    bool as_limit;  // valid for limit (where -1 means no limit)
    bool as_count;  // valid for skip, window and every
  } cases[] = {
      {"0", true, true},          {"1000000", true, true},   {"10k", true, true},   {"10K", true, true},
      {"10M", true, true},        {"10m", true, true},       {"2G", true, true},    {"2g", true, true},
      {"-1", true, false},        {"-2", false, false},      {"1e6", false, false}, {"10_000", false, false},
      {"10MB", false, false},     {"10T", false, false},     {"0x10", false, false}, {" 10", false, false},
      {"1.5M", false, false},     {"99999999999999999999", false, false},          {"9999999999G", false, false},
  };
  for (const Case& c : cases) {
    for (const char* key : {"limit", "skip", "window", "every"}) {
      bool want = std::string(key) == "limit" ? c.as_limit : c.as_count;
      std::string e = error_of(std::string("output = \"o\"\n[settings]\n") + key + " = \"" + c.value +
                               "\"\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n");
      EXPECT_EQ(e.empty(), want) << key << " = \"" << c.value << "\": " << e;
      if (!want) EXPECT_NE(e.find(std::string("bad ") + key + " value"), std::string::npos) << e;
      EXPECT_EQ(parse_count_option(c.value, std::string(key) == "limit").has_value(), want)
          << "run --" << key << " " << c.value;
    }
  }
}

TEST(CampaignPlan, BadPlansAreNamedOnOneLineWithTheirPlace) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"output = \"o\"\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n[settings]\nsmp = [1, 0]\n",
       "plan.toml:6:11: bad smp value '0'"},
      {"output = \"o\"\n[settings]\ncores = 2\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n",
       "plan.toml:3:9: unknown setting 'cores'"},
      {"output = \"o\"\n[[workload]]\nname = \"a\"\n", "needs either program"},
      {"output = \"o\"\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n[[workload]]\nname = \"a\"\nprogram = \"q\"\n",
       "two workloads are named 'a'"},
      {"[[workload]]\nname = \"a\"\nprogram = \"p\"\n", "no output directory"},
      {"output = \"o\"\n", "no [[workload]]"},
      {"output = \"o\"\n[[workload]]\nname = \"a b\"\nprogram = \"p\"\n", "may hold only"},
      {"output = \"o\"\n[settings]\nclock = [\"host\", \"host\"]\n[[workload]]\nname = \"a\"\nprogram = \"p\"\n",
       "lists 'host' twice"},
      {"output = = 3\n", "plan.toml:1:"},
  };
  for (const auto& c : cases) {
    std::string e = error_of(c.text);
    EXPECT_NE(e.find(c.want), std::string::npos) << "plan:\n" << c.text << "\nerror: " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(CampaignState, RecordsAndCampaignRoundTrip) {
  char tmpl[] = "/tmp/campaign_state_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  Campaign c;
  c.plan_path = "/plans/p.toml";
  c.jobs = expand_plan(parse(kTwoByTwo), dir);
  write_campaign(dir, c);
  Campaign back = read_campaign(dir);
  ASSERT_EQ(back.jobs.size(), c.jobs.size());
  EXPECT_EQ(back.plan_path, c.plan_path);
  EXPECT_EQ(back.jobs[3].run_args, c.jobs[3].run_args);
  EXPECT_EQ(back.jobs[3].settings, c.jobs[3].settings);
  EXPECT_EQ(back.jobs[5].smp, 4);

  const std::string id = c.jobs[0].id;
  EXPECT_FALSE(read_record(dir, id));  // no directory yet: pending
  std::filesystem::create_directories(job_dir(dir, id));
  JobRecord r;
  r.phase = Phase::Failed;
  r.exit_status = 3;
  r.backend = "slurm";
  r.slurm_job = "17_0";
  write_record(dir, id, r);
  auto got = read_record(dir, id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->phase, Phase::Failed);
  EXPECT_EQ(got->exit_status, 3);
  EXPECT_EQ(got->slurm_job, "17_0");
  std::filesystem::remove_all(dir);
}

TEST(CampaignState, StatusFollowsTheProcessBehindARecord) {
  auto gone = [](const JobRecord&) { return std::optional<bool>(false); };
  auto alive = [](const JobRecord&) { return std::optional<bool>(true); };
  auto unknown = [](const JobRecord&) { return std::optional<bool>(); };
  JobRecord r;
  EXPECT_EQ(job_status(std::nullopt, gone), Status::Pending);
  r.phase = Phase::Running;
  EXPECT_EQ(job_status(r, alive), Status::Running);
  EXPECT_EQ(job_status(r, unknown), Status::Running);
  EXPECT_EQ(job_status(r, gone), Status::Incomplete);
  r.phase = Phase::Submitted;
  EXPECT_EQ(job_status(r, alive), Status::Queued);
  EXPECT_EQ(job_status(r, gone), Status::Incomplete);
  r.phase = Phase::Done;
  EXPECT_EQ(job_status(r, gone), Status::Done);  // a finished job needs no process
  r.phase = Phase::Failed;
  EXPECT_EQ(job_status(r, alive), Status::Failed);
}

TEST(CampaignState, ACampaignFileThatIsNotOneIsNamed) {
  char tmpl[] = "/tmp/campaign_state_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  try {
    read_campaign(dir);
    ADD_FAILURE() << "no error for a directory without campaign.json";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("campaign directory"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/campaign.json") << "{\"qemutrace_campaign\": 1, \"jobs\": [{\"id\": 3}]}";
  try {
    read_campaign(dir);
    ADD_FAILURE() << "no error for a malformed campaign.json";
  } catch (const PlanError& e) {
    EXPECT_NE(std::string(e.what()).find("malformed campaign file"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}
