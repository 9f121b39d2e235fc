// Client side of the plugin's control socket (line protocol: start, stop,
// status; see docs/plugin.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qemutrace/socket_path.h"

namespace qemutrace::launcher {

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
