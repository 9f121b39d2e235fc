// The control socket's path, claimed the same way by the plugin (which
// serves it) and the launcher (which checks it before starting QEMU), and
// how long its clients wait for an answer.
#pragma once

#include <string>

namespace qemutrace {

enum class SocketPathState {
  Free,        // nothing there (a stale socket nobody serves was removed)
  TooLong,     // does not fit sockaddr_un::sun_path
  NotASocket,  // a file of another kind is there
  Live,        // a server answers there
};

// Probes path by connecting to it; removes a socket file nobody serves.
SocketPathState claim_socket_path(const std::string& path);

// A start or stop is answered once vCPU 0 has applied it, so that the reply
// and the next status agree: at once on an idle host, after seconds on a
// loaded one, an error after kControlApplyMs. Clients wait longer than that.
constexpr int kControlApplyMs = 60000;
constexpr int kControlReplyMs = kControlApplyMs + 30000;

}  // namespace qemutrace
