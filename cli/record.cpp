// qemutrace record --out REC [guest options]: runs a guest once under QEMU's
// record/replay with no tracer loaded, so the recording costs little.
// qemutrace replay REC --trace BASE [trace options]: replays it with the
// tracer; every replay executes exactly the recorded instructions, so one
// recording can be traced many times (formats, windows, limits) identically.
//
// REC holds the QEMU event log (replay.bin), copies of the kernel and initrd
// and recording.json with the rest of the command line: replay must give
// QEMU the same machine as the recording.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "guest_options.h"
#include "launcher/clock.h"
#include "launcher/launch.h"
#include "launcher/qemu.h"
#include "launcher/util.h"
#include "subcommand.h"
#include "trace_options.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;
namespace fs = std::filesystem;

constexpr const char* kLogName = "replay.bin";
constexpr const char* kDescription = "recording.json";

// QEMU options that record/replay cannot reproduce here, and why.
struct Unsupported {
  const char* option;
  const char* why;
};
const Unsupported kUnsupported[] = {
    {"hda", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"hdb", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"hdc", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"hdd", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"cdrom", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"drive", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"blockdev", "disk images need QEMU's blkreplay driver, which qemutrace record does not set up"},
    {"snapshot", "-snapshot changes the disk state a replay starts from"},
    {"loadvm", "a replay must start from the same machine state as the recording"},
    {"icount", "record sets -icount itself"},
    {"net", "network devices are not recorded (the recording runs with -nic none)"},
    {"netdev", "network devices are not recorded (the recording runs with -nic none)"},
    {"nic", "network devices are not recorded (the recording runs with -nic none)"},
    {"smp", "give the number of cores with --smp (record/replay supports --smp 1 only)"},
};

void check_recordable(const GuestOptions& g) {
  if (g.smp != 1)
    throw LaunchError("cannot record --smp " + std::to_string(g.smp) +
                      ": QEMU's record/replay runs one core only (use --smp 1)");
  if (!g.hda.empty())
    throw LaunchError("cannot record --hda: disk images need QEMU's blkreplay driver, which qemutrace record does not set up");
  for (const auto& u : kUnsupported)
    if (has_qemu_option(g.qemu_args, u.option))
      throw LaunchError(std::string("cannot record with -") + u.option + ": " + u.why);
}

void copy_into(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw LaunchError("cannot copy " + from + " to " + to + ": " + ec.message());
}

struct RecordOptions {
  GuestOptions guest;
  std::string out;
  bool quiet = false;
};

int record_command(RecordOptions o) {
  if (o.out.empty()) throw LaunchError("empty --out directory");
  check_recordable(o.guest);
  std::string rec = absolute_path(o.out);
  std::error_code ec;
  if (fs::exists(rec, ec) && !(fs::is_directory(rec, ec) && fs::is_empty(rec, ec)))
    throw LaunchError("recording " + o.out + " already exists: give a new or empty directory");
  if (o.guest.xen) throw LaunchError("record does not take --xen yet: trace the Xen guest with qemutrace run --xen");
  GuestCommand g = guest_command(o.guest);
  QemuBinary qemu = find_qemu(g.arch);
  fs::create_directories(rec, ec);
  if (ec) throw LaunchError("cannot create " + rec + ": " + ec.message());

  // The kernel and initrd are copied: a replay must boot the same bytes even
  // if the originals change (a rebuilt guest, a temporary workload initrd).
  nlohmann::json d;
  d["qemutrace_recording"] = 1;
  d["complete"] = false;
  d["arch"] = g.arch;
  d["qemu_version"] = qemu.version;
  d["builtin_guest"] = g.builtin_guest;
  std::vector<std::string> args = g.qemu_args;
  args.insert(args.end(), {"-nic", "none"});
  if (g.kernel_value >= 0) {
    copy_into(args[g.kernel_value], rec + "/kernel");
    args[g.kernel_value] = "kernel";
    d["kernel_arg"] = g.kernel_value;
  }
  if (g.initrd_value >= 0) {
    copy_into(args[g.initrd_value], rec + "/initrd");
    args[g.initrd_value] = "initrd";
    d["initrd_arg"] = g.initrd_value;
  }
  d["qemu_args"] = args;
  d["icount"] = record_replay_icount("record", kLogName);
  auto write_description = [&] {
    std::ofstream f(rec + "/" + kDescription, std::ios::trunc);
    f << d.dump(2) << "\n";
    if (!f) throw LaunchError("cannot write " + rec + "/" + kDescription);
  };
  write_description();

  LaunchPlan plan;
  plan.arch = g.arch;
  plan.trace = false;
  plan.qemu_args = args;
  if (g.kernel_value >= 0) plan.qemu_args[g.kernel_value] = rec + "/kernel";
  if (g.initrd_value >= 0) plan.qemu_args[g.initrd_value] = rec + "/initrd";
  plan.qemu_args.insert(plan.qemu_args.end(), {"-icount", record_replay_icount("record", rec + "/" + kLogName)});
  plan.builtin_guest = g.builtin_guest;
  plan.quiet = o.quiet;
  plan.stdin_mode = StdinMode::Closed;  // console input would become part of the recording
  int rc = execute(plan);
  if (rc != 0) {
    std::fprintf(stderr, "qemutrace: the recording in %s is incomplete and cannot be replayed\n", o.out.c_str());
    return rc;
  }
  d["complete"] = true;
  write_description();
  std::fprintf(stderr, "qemutrace: recorded %s (%s); trace it with: qemutrace replay %s --trace BASE\n",
               o.out.c_str(), human_bytes(double(fs::file_size(rec + "/" + kLogName, ec))).c_str(),
               o.out.c_str());
  return 0;
}

struct ReplayOptions {
  std::string rec;
  TraceOptions trace;
  bool quiet = false;
};

int replay_command(const ReplayOptions& o) {
  LaunchPlan plan;
  plan.settings = trace_settings(o.trace);
  plan.settings.plugin_quiet = o.quiet;
  std::string rec = absolute_path(o.rec);
  std::ifstream f(rec + "/" + kDescription);
  if (!f) throw LaunchError(o.rec + " is not a recording (no " + kDescription + "; make one with qemutrace record)");
  nlohmann::json d = nlohmann::json::parse(f, nullptr, false);
  if (d.is_discarded() || !d.is_object() || d.value("qemutrace_recording", 0) != 1 || !d.contains("qemu_args") ||
      !d["qemu_args"].is_array())
    throw LaunchError(o.rec + "/" + kDescription + " is not a qemutrace recording description");
  if (!d.value("complete", false))
    throw LaunchError("the recording " + o.rec + " is incomplete (its guest did not finish): record it again");
  if (!is_regular_file(rec + "/" + kLogName)) throw LaunchError("the recording " + o.rec + " has no " + kLogName);
  plan.arch = check_arch(d.value("arch", ""));
  QemuBinary qemu = find_qemu(plan.arch);
  std::string recorded = d.value("qemu_version", "");
  if (recorded != qemu.version)
    throw LaunchError("the recording " + o.rec + " was made with QEMU " + recorded + ", this is QEMU " + qemu.version +
                      ": replay needs the same QEMU");
  plan.qemu_args = d["qemu_args"].get<std::vector<std::string>>();
  for (const char* key : {"kernel_arg", "initrd_arg"}) {
    if (!d.contains(key)) continue;
    size_t i = d[key].get<size_t>();
    if (i >= plan.qemu_args.size()) throw LaunchError(o.rec + "/" + kDescription + ": bad " + key);
    plan.qemu_args[i] = rec + "/" + plan.qemu_args[i];
    if (!is_regular_file(plan.qemu_args[i])) throw LaunchError("the recording " + o.rec + " lacks " + plan.qemu_args[i]);
  }
  plan.qemu_args.insert(plan.qemu_args.end(), {"-icount", record_replay_icount("replay", rec + "/" + kLogName)});
  plan.builtin_guest = d.value("builtin_guest", false);
  plan.quiet = o.quiet;
  plan.stdin_mode = StdinMode::Closed;
  return execute(plan);
}

std::function<int()> setup_record(CLI::App& app) {
  auto o = std::make_shared<RecordOptions>();
  auto* sub = app.add_subcommand("record", "Record a guest run once (QEMU record/replay, no tracer) to trace it later");
  o->guest.smp = 1;
  add_guest_options(sub, o->guest);
  sub->add_option("--out", o->out, "Recording directory (new or empty)")->required();
  sub->add_flag("--quiet", o->quiet, "No live status line");
  sub->footer(
      "The guest must end by itself (the built-in guest powers off after --program).\n"
      "Not recordable: --smp > 1, disk images, network devices, -snapshot/-loadvm.\n"
      "Example:\n"
      "  qemutrace record --program qt-syscall --args 1000 --out rec\n"
      "  qemutrace replay rec --trace out/t --format tejas\n");
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      return record_command(*o);
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

std::function<int()> setup_replay(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  auto* sub = app.add_subcommand("replay", "Trace a replay of a recording made by qemutrace record");
  sub->add_option("recording", o->rec, "Recording directory (qemutrace record --out)")->required();
  add_trace_options(sub, o->trace);
  sub->add_flag("--quiet", o->quiet, "No live status line");
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      return replay_command(*o);
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(record, setup_record);
QEMUTRACE_SUBCOMMAND(replay, setup_replay);
}  // namespace qemutrace::cli
