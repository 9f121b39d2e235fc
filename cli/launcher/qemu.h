// Finding QEMU and turning trace settings into the plugin's -plugin option.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qemutrace::launcher {

struct QemuBinary {
  std::string path;
  std::string version;  // "10.0.2"
};

// Finds qemu-system-<arch> ($QEMUTRACE_QEMU overrides the path) and checks
// `--version` >= 10.0. Throws LaunchError: not found / too old / arch bad.
QemuBinary find_qemu(const std::string& arch);

// Normalises and checks an --arch value ("x86_64", "i386", "aarch64";
// aliases such as "amd64", "i686", "arm64" accepted). Throws LaunchError.
std::string check_arch(const std::string& arch);

// Everything the plugin is told. Empty/negative fields are left out.
struct TraceSettings {
  std::string base;             // absolute BASE
  std::string format = "binary";  // binary|tejas|file|champsim|din|text
  std::string start = "marker";   // now|marker|console
  std::string markers;          // nop|int|both ("" = plugin default)
  int64_t limit = -1;
  bool exit_on_limit = false;
  int64_t skip = -1;
  int64_t window = -1;
  int64_t every = -1;
  bool values = false;
  bool phys = true;
  std::optional<int> zstd;  // plugin default when unset
  std::string ctl;              // socket path
  bool plugin_quiet = false;
  std::vector<std::string> extra;  // raw key=value pairs (--plugin-opt)
};

// Checks values (throws LaunchError naming the bad option) and returns
// "-plugin" argument text: "PATH,base=...,format=...".
std::string plugin_argument(const std::string& plugin, const TraceSettings& t);

// The control socket of a trace: BASE.ctl.
std::string ctl_path_for_base(const std::string& base);

// Refuses a path that a live process serves ("socket path in use"), removes
// a stale socket, refuses a non-socket file and paths too long for
// sockaddr_un. Throws LaunchError.
void claim_socket_path(const std::string& path);

// Creates the directory that will hold BASE_<k> (throws LaunchError).
void prepare_trace_dir(const std::string& base);

}  // namespace qemutrace::launcher
