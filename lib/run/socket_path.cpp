#include "qemutrace/socket_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace qemutrace {

SocketPathState claim_socket_path(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return SocketPathState::TooLong;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return SocketPathState::Free;
  if (!S_ISSOCK(st.st_mode)) return SocketPathState::NotASocket;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool live = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  if (live) return SocketPathState::Live;
  unlink(path.c_str());  // stale: its server is gone
  return SocketPathState::Free;
}

}  // namespace qemutrace
