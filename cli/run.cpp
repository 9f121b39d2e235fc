// qemutrace run: boot a guest under QEMU with the tracer loaded.
//   built-in guest + your program:  --program FILE [--args "..."]
//   your own kernel:                --kernel K [--initrd I] [--append "..."]
//   your own disk image:            --hda IMG
#include <cstdio>
#include <cstdlib>

#include "launcher/guest_image.h"
#include "launcher/launch.h"
#include "launcher/util.h"
#include "qemutrace/writer.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;

struct RunOptions {
  std::string arch = "x86_64";
  int smp = 2;
  std::string mem = "512M";
  std::string trace = "qemutrace-out/trace";
  std::string format = "binary";
  std::string start = "marker";
  std::string markers = "both";
  std::string limit = "-1", skip, window, every;
  bool exit_on_limit = false, values = false, console = false, quiet = false, no_phys = false;
  std::string zstd;
  std::string program, args, kernel, initrd, append, hda;
  std::vector<std::string> plugin_opts;
  std::vector<std::string> qemu_args;
};

int64_t count_opt(const std::string& name, const std::string& v, bool allow_minus_one) {
  auto c = parse_count(v);
  if (!c || (*c < 0 && !(allow_minus_one && *c == -1)))
    throw LaunchError("bad " + name + " value '" + v + "': expected a count such as 1000000 or 10M" +
                      (allow_minus_one ? " (or -1)" : ""));
  return *c;
}

bool has_display_option(const std::vector<std::string>& a) {
  for (const auto& w : a)
    if (w == "-nographic" || w == "-display" || w == "-vnc" || w == "--nographic" || w == "--display" ||
        w == "-curses" || w == "-sdl")
      return true;
  return false;
}

int run_command(const RunOptions& o) {
  LaunchPlan plan;
  plan.arch = check_arch(o.arch);
  if (o.smp < 1 || o.smp > 255) throw LaunchError("bad --smp value '" + std::to_string(o.smp) + "': expected 1..255");
  check_memory_size(o.mem);
  if (!o.program.empty() && (!o.kernel.empty() || !o.hda.empty()))
    throw LaunchError("--program runs in the built-in guest: give it without --kernel/--hda");
  if (!o.args.empty() && o.program.empty()) throw LaunchError("--args needs --program");
  if ((!o.initrd.empty() || !o.append.empty()) && o.kernel.empty()) throw LaunchError("--initrd/--append need --kernel");

  TraceSettings& t = plan.settings;
  t.base = o.trace;
  t.format = o.format;
  t.start = o.start;
  t.markers = o.markers;
  t.limit = count_opt("--limit", o.limit, true);
  t.exit_on_limit = o.exit_on_limit;
  if (!o.skip.empty()) t.skip = count_opt("--skip", o.skip, false);
  if (!o.window.empty()) t.window = count_opt("--window", o.window, false);
  if (!o.every.empty()) t.every = count_opt("--every", o.every, false);
  t.values = o.values;
  t.phys = !o.no_phys;
  if (!o.zstd.empty()) {
    // The plugin's range: negative levels trade size for compression speed.
    char* end = nullptr;
    long z = std::strtol(o.zstd.c_str(), &end, 10);
    if (*end != '\0' || end == o.zstd.c_str() || z < -7 || z > 22)
      throw LaunchError("bad --zstd value '" + o.zstd + "': expected a level -7..22");
    t.zstd = int(z);
  }
  t.plugin_quiet = o.quiet;
  t.extra = o.plugin_opts;
  if (t.exit_on_limit && t.limit <= 0) throw LaunchError("--exit-on-limit needs --limit N");
  plugin_argument("libqemutrace.so", t);  // validate option values before any slow step

  plan.qemu_args = {"-smp", std::to_string(o.smp), "-m", o.mem};
  std::unique_ptr<TempDir> work;
  if (!o.kernel.empty()) {
    if (!is_regular_file(o.kernel)) throw LaunchError("kernel not found: " + o.kernel);
    if (!o.initrd.empty() && !is_regular_file(o.initrd)) throw LaunchError("initrd not found: " + o.initrd);
    plan.qemu_args.insert(plan.qemu_args.end(), {"-kernel", o.kernel});
    if (!o.initrd.empty()) plan.qemu_args.insert(plan.qemu_args.end(), {"-initrd", o.initrd});
    plan.qemu_args.insert(plan.qemu_args.end(), {"-append", o.append.empty() ? "console=ttyS0" : o.append});
  }
  if (!o.hda.empty()) {
    if (!file_exists(o.hda)) throw LaunchError("disk image not found: " + o.hda);
    plan.qemu_args.insert(plan.qemu_args.end(), {"-hda", o.hda});
  }
  if (!o.kernel.empty() || !o.hda.empty()) {
    if (!has_display_option(o.qemu_args)) plan.qemu_args.push_back("-nographic");
  } else {
    // The built-in guest; with --program, FILE becomes its workload.
    if (!o.program.empty() && o.program.find('/') != std::string::npos && !is_regular_file(o.program))
      throw LaunchError("program not found: " + o.program);
    if (!o.program.empty() && is_regular_file(o.program) && is_dynamic_elf(o.program))
      throw LaunchError(o.program + " is dynamically linked; the built-in guest has no shared libraries: link it with -static");
    std::string dir = ensure_guest(plan.arch, false, true);
    auto gargs = guest_qemu_args(plan.arch, dir);
    if (!o.program.empty()) {
      std::string prog = resolve_program(o.program, dir);
      work = std::make_unique<TempDir>();
      std::string initrd = make_workload_initrd(dir, prog, shell_split(o.args), work->path());
      for (size_t i = 0; i + 1 < gargs.size(); ++i)
        if (gargs[i] == "-initrd") gargs[i + 1] = initrd;
    }
    plan.qemu_args.insert(plan.qemu_args.end(), gargs.begin(), gargs.end());
    plan.builtin_guest = true;
  }
  plan.qemu_args.insert(plan.qemu_args.end(), o.qemu_args.begin(), o.qemu_args.end());
  plan.console = o.console;
  plan.quiet = o.quiet;
  plan.stdin_mode = plan.builtin_guest ? StdinMode::Closed : StdinMode::Inherit;
  return execute(plan);
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "Boot a guest under QEMU and trace it");
  sub->add_option("--arch", o->arch, "Guest ISA: x86_64 or i386")->capture_default_str();
  sub->add_option("--smp", o->smp, "Number of guest cores")->capture_default_str();
  sub->add_option("-m,--memory", o->mem, "Guest RAM (QEMU -m)")->capture_default_str();
  sub->add_option("--trace", o->trace, "Trace base name: files BASE_<core>, manifest BASE.json, socket BASE.ctl")
      ->capture_default_str();
  sub->add_option("--format", o->format, output_format_choices())
      ->capture_default_str();
  sub->add_option("--start", o->start, "When tracing starts: marker (ROI markers), now, console")->capture_default_str();
  sub->add_option("--markers", o->markers, "Which ROI markers count: nop, int or both")->capture_default_str();
  sub->add_option("--limit", o->limit, "Stop tracing after N instructions in total (-1: no limit)")->capture_default_str();
  sub->add_flag("--exit-on-limit", o->exit_on_limit, "End QEMU once --limit is reached");
  sub->add_option("--skip", o->skip, "Stay off for the first N instructions after the start condition");
  sub->add_option("--window", o->window, "Sampling: trace LEN instructions ...");
  sub->add_option("--every", o->every, "... out of every PERIOD");
  sub->add_flag("--values", o->values, "Record loaded and stored values");
  sub->add_flag("--no-phys", o->no_phys, "Do not record physical addresses");
  sub->add_option("--zstd", o->zstd, "zstd level of the binary format, -7..22 (negative: faster, larger)");
  sub->add_option("--plugin-opt", o->plugin_opts, "Extra plugin option key=value (repeatable)");
  sub->add_option("--program", o->program, "Run FILE (or a built-in program such as qt-loop) in the built-in guest");
  sub->add_option("--args", o->args, "Arguments of --program, one shell-quoted string");
  sub->add_option("--kernel", o->kernel, "Your own kernel");
  sub->add_option("--initrd", o->initrd, "Initrd for --kernel");
  sub->add_option("--append", o->append, "Kernel command line for --kernel (default console=ttyS0)");
  sub->add_option("--hda", o->hda, "Your own disk image");
  sub->add_flag("--console", o->console, "Interactive console: qqq_* commands and QEMU's monitor");
  sub->add_flag("--quiet", o->quiet, "No live status line");
  sub->add_option("qemu_args", o->qemu_args, "-- QEMU_ARGS... passed to QEMU unchanged");
  sub->footer(
      "Examples:\n"
      "  qemutrace run --program ./myprog --args '-n 10' --trace out/t\n"
      "  qemutrace run --program qt-loop --args 1000000 --format file --trace out/t\n"
      "  qemutrace run --hda disk.img --start console --console --trace out/t\n");
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      return run_command(*o);
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(run, setup);
}  // namespace qemutrace::cli
