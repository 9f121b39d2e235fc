#include "launcher/qemu.h"

#include "qemutrace/socket_path.h"
#include "qemutrace/trace_paths.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "launcher/guest_arch.h"
#include "launcher/util.h"
#include "qemutrace/output_format.h"
#include "qemutrace/writer.h"

namespace qemutrace::launcher {

std::string check_arch(const std::string& arch) {
  if (const GuestArch* a = find_guest_arch(arch)) return a->name;
  throw LaunchError("bad --arch value '" + arch + "': expected " + guest_arch_choices());
}

QemuBinary find_qemu(const std::string& arch) {
  std::string name = "qemu-system-" + arch;
  std::string path;
  if (const char* e = std::getenv("QEMUTRACE_QEMU"); e && *e) {
    auto w = which(e);
    if (!w) throw LaunchError(std::string("QEMU not found: ") + e + " (from $QEMUTRACE_QEMU)");
    path = *w;
  } else {
    auto w = which(name);
    if (!w) {
      const GuestArch* a = find_guest_arch(arch);
      std::string pkg = a ? a->qemu_package : "qemu-system-" + arch;
      throw LaunchError("QEMU not found: " + name + " is not in PATH (install QEMU >= 10.0: apt-get install -t bookworm-backports " +
                        pkg + ", or scripts/install-deps.sh" + (a && a->name == "aarch64" ? " --arch aarch64" : "") + ")");
    }
    path = *w;
  }
  std::string out;
  int rc = run_capture({path, "--version"}, &out, nullptr);
  auto pos = out.find("version ");
  if (rc != 0 || pos == std::string::npos)
    throw LaunchError("QEMU not usable: '" + path + " --version' failed");
  std::string ver;
  for (size_t i = pos + 8; i < out.size() && (std::isdigit(static_cast<unsigned char>(out[i])) || out[i] == '.'); ++i)
    ver += out[i];
  int major = std::atoi(ver.c_str());
  if (major < 10)
    throw LaunchError("QEMU " + ver + " at " + path +
                      " is too old: qemutrace needs QEMU 10.0 or newer (bookworm-backports: make deps)");
  return {path, ver};
}

namespace {
std::string number(int64_t v) { return std::to_string(v); }
}  // namespace

std::string plugin_argument(const std::string& plugin, const TraceSettings& t) {
  if (!parse_output_format(t.format, nullptr))
    throw LaunchError("bad --format value '" + t.format + "': expected " + output_format_choices());
  if (t.start != "now" && t.start != "marker" && t.start != "console")
    throw LaunchError("bad --start value '" + t.start + "': expected marker, now or console");
  if (!t.markers.empty() && t.markers != "nop" && t.markers != "int" && t.markers != "both")
    throw LaunchError("bad --markers value '" + t.markers + "': expected nop, int or both");
  if ((t.window >= 0) != (t.every >= 0)) throw LaunchError("--window and --every go together");
  if (t.window == 0) throw LaunchError("bad --window value '0': must be positive");
  if (t.every >= 0 && t.window >= 0 && t.every < t.window)
    throw LaunchError("bad --every value '" + number(t.every) + "': must be at least --window (" + number(t.window) + ")");
  if (t.limit == 0) throw LaunchError("bad --limit value '0': expected a positive count or -1 for no limit");
  if (t.base.empty()) throw LaunchError("no trace base name given");
  if (t.base.find(',') != std::string::npos) throw LaunchError("trace path '" + t.base + "' contains a comma, which -plugin cannot carry");
  if (plugin.find(',') != std::string::npos) throw LaunchError("plugin path '" + plugin + "' contains a comma");
  std::string s = plugin + ",base=" + t.base + ",format=" + t.format + ",start=" + t.start;
  if (!t.markers.empty()) s += ",markers=" + t.markers;
  if (t.limit > 0) s += ",limit=" + number(t.limit);
  if (t.exit_on_limit) s += ",exit_on_limit=on";
  if (t.skip > 0) s += ",skip=" + number(t.skip);
  if (t.window > 0) s += ",window=" + number(t.window) + ",every=" + number(t.every);
  if (t.values) s += ",values=on";
  if (!t.phys) s += ",phys=off";
  if (t.zstd) s += ",zstd=" + number(*t.zstd);
  if (!t.ctl.empty()) {
    if (t.ctl.find(',') != std::string::npos) throw LaunchError("socket path '" + t.ctl + "' contains a comma");
    s += ",ctl=" + t.ctl;
  }
  if (t.plugin_quiet) s += ",quiet=on";
  for (const auto& e : t.extra) {
    if (e.find('=') == std::string::npos || e.find(',') != std::string::npos)
      throw LaunchError("bad --plugin-opt value '" + e + "': expected one key=value");
    s += "," + e;
  }
  return s;
}

std::string ctl_path_for_base(const std::string& base) { return base + ".ctl"; }

void claim_socket_path(const std::string& path) {
  switch (qemutrace::claim_socket_path(path)) {
    case SocketPathState::Free:
      return;
    case SocketPathState::TooLong:
      throw LaunchError("socket path too long (" + std::to_string(path.size()) + " > " +
                        std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes): " + path +
                        "; use a shorter --trace path");
    case SocketPathState::NotASocket:
      throw LaunchError("socket path in use by a file that is not a socket: " + path);
    case SocketPathState::Live:
      throw LaunchError("socket path in use: " + path + " (another qemutrace run is serving it)");
  }
}

void prepare_trace_dir(const std::string& base) {
  if (std::string why = trace_base_problem(base); !why.empty()) throw LaunchError(why);
  std::string dir = dirname_of(base);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw LaunchError("cannot create trace directory " + dir + ": " + ec.message());
  if (std::string why = trace_base_problem(base); !why.empty()) throw LaunchError(why);
}

}  // namespace qemutrace::launcher
