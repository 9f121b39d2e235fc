// Client side of the plugin's control socket (line protocol: start, stop,
// status; see docs/plugin.md).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qemutrace/socket_path.h"

namespace qemutrace::launcher {

// The socket file at a path, by device and inode.
struct SocketFileId {
  uint64_t dev = 0, ino = 0;
};

// The identity of the socket file at path if process `server` is the one
// answering there (SO_PEERCRED), else nullopt.
std::optional<SocketFileId> socket_served_by(const std::string& path, pid_t server);

// Removes path only if it is still the socket file `id` (nothing if id is
// unset): a run removes the socket its QEMU served and never one another
// run serves at the same path.
void remove_socket_file(const std::string& path, const std::optional<SocketFileId>& id);

// Sends one command line and returns the one-line reply (without newline).
// Throws LaunchError if the socket cannot be reached or does not answer
// within timeout_ms (by default longer than the plugin may take to apply a
// start or stop on a loaded host).
std::string ctl_request(const std::string& socket_path, const std::string& command,
                        int timeout_ms = kControlReplyMs);

struct CoreStatus {
  int core = 0;
  uint64_t instructions = 0;
  uint64_t bytes = 0;
};

struct TraceStatus {
  std::string state;  // off | tracing | limit
  uint64_t instructions = 0;
  uint64_t bytes = 0;
  std::vector<CoreStatus> cores;
};

// Parses a `status` reply; nullopt if it is not the JSON object.
std::optional<TraceStatus> parse_status(const std::string& reply);

// "tracing: 1.23M instructions (core 0 1.00M, core 1 0.23M), 1.2 MiB, 0.51 B/insn"
std::string describe_status(const TraceStatus& s);

// Resolves the `qemutrace ctl` target: an existing socket, or BASE whose
// BASE.ctl exists. Throws LaunchError.
std::string resolve_ctl_target(const std::string& base_or_socket);

}  // namespace qemutrace::launcher
