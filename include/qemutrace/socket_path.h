// The control socket's path, claimed the same way by the plugin (which
// serves it) and the launcher (which checks it before starting QEMU), and
// how long its clients wait for an answer.
#pragma once

#include <sys/stat.h>

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

// Removes the socket at path only if it is still the file `probed` was
// taken from; a socket another process put there since stays. True when
// path is free afterwards.
bool remove_socket_if_unchanged(const std::string& path, const struct stat& probed);

// Binds fd (an AF_UNIX stream socket), listens, and only then makes it
// appear at path, mode 0600; fails if anything appeared there first.
bool publish_listening_socket(int fd, const std::string& path, std::string* error);

// A start or stop is answered once vCPU 0 has applied it, so that the reply
// and the next status agree: at once on an idle host, after seconds on a
// loaded one, an error after kControlApplyMs. Clients wait longer than that.
constexpr int kControlApplyMs = 60000;
constexpr int kControlReplyMs = kControlApplyMs + 30000;

}  // namespace qemutrace
