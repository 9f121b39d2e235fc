// The control socket's path, claimed the same way by the plugin (which
// serves it) and the launcher (which checks it before starting QEMU).
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

}  // namespace qemutrace
