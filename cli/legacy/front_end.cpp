// qemutrace-system-x86_64 / -i386 / -aarch64: drop-in front ends for the
// legacy qemutrace command line
//
//   qemutrace-system-x86_64 -smp 2 -m 1G -q_trace mode=file,file=BASE -ST N
//                           -hda disk.img --monitor stdio
//
// -q_trace mode=M,file=BASE[,key=value...]  M: file (plain-text Tejas files,
//     as the legacy tool wrote), file-gz (the same gzip'd as BASE_<k>.gz, what
//     current Tejas opens) or any --format name. Extra key=value pairs go to
//     the plugin unchanged.
//     clock=virtual runs the guest on the virtual clock (-icount, see
//     docs/guide.md); clock=host (the default) on the host's.
// -ST N  stop tracing after N instructions in total over all cores; -1 = no
//     limit. QEMU keeps running (quit from the monitor).
// Like the legacy tool, tracing starts off and waits for qqq_start_trace on
// the console, `qemutrace ctl BASE start`, an `int $100` or a qemutrace.h
// marker in the guest (plugin start=marker, markers=both); it stops at
// qqq_stop_trace/qqq_end_trace, `int $101` or a stop marker.
// --monitor stdio / -monitor stdio gives the interactive console; every other
// option goes to qemu-system-<arch> unchanged.
#include <cstdio>
#include <cstring>

#include "launcher/clock.h"
#include "launcher/guest_arch.h"
#include "launcher/launch.h"
#include "legacy/front_end.h"
#include "launcher/util.h"
#include "qemutrace/output_format.h"
#include "qemutrace/writer.h"

namespace qemutrace::launcher {

namespace {

const char* kPrefix = "qemutrace-system-";

void usage(const std::string& arch) {
  std::printf(
      "usage: qemutrace-system-%s [QEMU options] -q_trace mode=MODE,file=BASE [-ST N] [--monitor stdio]\n"
      "\n"
      "  -q_trace mode=MODE,file=BASE  trace every core into BASE_<core>; MODE is file (plain-text Tejas,\n"
      "                                like the legacy tool), file-gz (the same, BASE_<core>.gz),\n"
      "                                or any of: %s\n"
      "                                ,clock=virtual: guest time follows instructions (-icount)\n"
      "  -ST N                         stop tracing after N instructions in total (-1: no limit)\n"
      "  --monitor stdio               console: qqq_start_trace, qqq_stop_trace (= qqq_end_trace),\n"
      "                                qqq_status, and every QEMU monitor command\n"
      "Tracing starts off; it starts at qqq_start_trace, `qemutrace ctl BASE start`, int $100 (x86) or\n"
      "a qemutrace_start() marker in the guest. Every other option goes to qemu-system-%s unchanged\n"
      "(aarch64: -M virt -cpu max,pauth-impdef=on come first unless -M/-machine is given).\n",
      arch.c_str(), output_format_choices().c_str(), arch.c_str());
}

bool is_opt(const std::string& a, const char* name) {
  return a == std::string("-") + name || a == std::string("--") + name;
}

}  // namespace

bool is_legacy_name(const char* argv0) {
  return argv0 && starts_with(basename_of(argv0), kPrefix);
}

int legacy_main(int argc, char** argv) {
  std::string arch_name = basename_of(argv[0]).substr(std::strlen(kPrefix));
  try {
    LaunchPlan plan;
    plan.arch = check_arch(arch_name);
    plan.trace = false;
    std::string qtrace, st, clock = "host";
    bool st_given = false;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const char* name) -> std::string {
        if (i + 1 >= argc) throw LaunchError(std::string("option -") + name + " needs a value");
        return argv[++i];
      };
      if (a == "-h" || a == "--help" || a == "-help") {
        usage(plan.arch);
        return 0;
      }
      if (is_opt(a, "q_trace")) {
        qtrace = value("q_trace");
      } else if (is_opt(a, "ST")) {
        st = value("ST");
        st_given = true;
      } else if (is_opt(a, "monitor") && (i + 1 >= argc || argv[i + 1][0] == '-' || !argv[i + 1][0])) {
        throw LaunchError(a + " needs a value: stdio for the console (qqq_* commands and QEMU's monitor), "
                          "or a QEMU character device such as unix:PATH,server=on,wait=off");
      } else if (is_opt(a, "monitor") && std::string(argv[i + 1]) == "stdio") {
        plan.console = true;
        ++i;
      } else {
        for (const char* f : {"hda", "hdb", "hdc", "hdd", "cdrom", "kernel", "initrd"}) {
          if (is_opt(a, f) && i + 1 < argc) {
            std::string p = argv[i + 1];
            if (!file_exists(p))
              throw LaunchError(std::string(f == std::string("kernel") || f == std::string("initrd") ? f : "disk image") +
                                " not found: " + p);
          }
        }
        plan.qemu_args.push_back(a);
      }
    }
    if (st_given && qtrace.empty()) throw LaunchError("-ST needs -q_trace mode=...,file=BASE");
    if (!qtrace.empty()) {
      plan.trace = true;
      TraceSettings& t = plan.settings;
      t.format.clear();
      t.start = "marker";
      t.markers = find_guest_arch(plan.arch)->legacy_markers ? "both" : "nop";
      for (const std::string& kv : [&] {
             std::vector<std::string> parts;
             size_t s = 0;
             while (s <= qtrace.size()) {
               size_t e = qtrace.find(',', s);
               if (e == std::string::npos) e = qtrace.size();
               if (e > s) parts.push_back(qtrace.substr(s, e - s));
               s = e + 1;
             }
             return parts;
           }()) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) throw LaunchError("bad -q_trace item '" + kv + "': expected key=value");
        std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
        if (k == "mode") {
          OutputFormat f;
          if (!parse_output_format(v, &f))
            throw LaunchError("bad -q_trace mode '" + v + "': expected " + output_format_choices());
          t.format = output_format_name(f);  // file: the legacy plain-text per-core files
        } else if (k == "file") {
          t.base = v;
        } else if (k == "start") {
          t.start = v;
        } else if (k == "markers") {
          t.markers = v;
        } else if (k == "clock") {
          if (v != "host" && v != "virtual")
            throw LaunchError("bad -q_trace clock '" + v + "': expected host or virtual");
          clock = v;
        } else {
          t.extra.push_back(kv);
        }
      }
      if (t.format.empty()) throw LaunchError("-q_trace needs mode=MODE (" + output_format_choices() + ")");
      if (t.base.empty()) throw LaunchError("-q_trace needs file=BASE (the per-core files are BASE_<core>)");
      if (st_given) {
        auto n = parse_count(st);
        if (!n || *n == 0 || *n < -1) throw LaunchError("bad -ST value '" + st + "': expected a positive count or -1");
        t.limit = *n;
      }
    }
    // qemu-system-aarch64 has no default board: the one the built-in guest
    // uses, unless the command line picks one (a later -cpu still wins).
    if (const GuestArch& ga = *find_guest_arch(plan.arch); !chooses_machine(plan.qemu_args))
      plan.qemu_args.insert(plan.qemu_args.begin(), ga.machine_args.begin(), ga.machine_args.end());
    std::vector<std::string> clock_args = clock_qemu_args(clock, plan.qemu_args);
    plan.qemu_args.insert(plan.qemu_args.end(), clock_args.begin(), clock_args.end());
    plan.stdin_mode = StdinMode::Inherit;
    return execute(plan);
  } catch (const LaunchError& e) {
    std::fprintf(stderr, "qemutrace: %s\n", e.what());
    return 1;
  }
}

}  // namespace qemutrace::launcher
