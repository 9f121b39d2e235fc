#include "qemutrace/socket_path.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace qemutrace {

namespace {

// A name beside path that no other process picks: the same directory keeps
// rename() and link() atomic.
std::string private_name(const std::string& path, const char* what) {
  static std::atomic<unsigned> counter{0};
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  return dir + ".qt-" + what + "." + std::to_string(getpid()) + "." + std::to_string(counter++);
}

bool fits(const std::string& path) {
  sockaddr_un addr{};
  return path.size() < sizeof addr.sun_path;
}

bool answers(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool live = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return live;
}

}  // namespace

bool remove_socket_if_unchanged(const std::string& path, const struct stat& probed) {
  // Move whatever is at path aside atomically, then look at what was taken:
  // if another process put its own socket there since the probe, put it
  // back instead of deleting it.
  std::string aside = private_name(path, "stale");
  if (rename(path.c_str(), aside.c_str()) != 0) return errno == ENOENT;
  struct stat st;
  // An inode number is reused at once after an unlink; the modification
  // time (set by bind, kept by rename) tells a new socket from the old one
  // that had that number.
  bool same = lstat(aside.c_str(), &st) == 0 && st.st_dev == probed.st_dev && st.st_ino == probed.st_ino &&
              st.st_mtim.tv_sec == probed.st_mtim.tv_sec && st.st_mtim.tv_nsec == probed.st_mtim.tv_nsec;
  if (!same) (void)!link(aside.c_str(), path.c_str());
  unlink(aside.c_str());
  return same;
}

SocketPathState claim_socket_path(const std::string& path) {
  if (!fits(path)) return SocketPathState::TooLong;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return SocketPathState::Free;
  if (!S_ISSOCK(st.st_mode)) return SocketPathState::NotASocket;
  if (answers(path)) return SocketPathState::Live;
  if (!remove_socket_if_unchanged(path, st)) return SocketPathState::Live;
  return SocketPathState::Free;
}

bool publish_listening_socket(int fd, const std::string& path, std::string* error) {
  // Bind and listen under a private name, then link it into place: path
  // never names a socket that is not yet listening (a client or another
  // server would take it for stale), and link() refuses to replace a
  // socket another server published meanwhile.
  std::string temp = private_name(path, "bind");
  if (!fits(temp) || !fits(path)) {
    *error = "socket path too long";
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, temp.c_str(), temp.size() + 1);
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0) {
    *error = std::string("cannot bind: ") + strerror(errno);
    return false;
  }
  bool ok = chmod(temp.c_str(), 0600) == 0 && listen(fd, 8) == 0;
  int saved = errno;
  if (ok && link(temp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  unlink(temp.c_str());
  if (!ok) {
    *error = saved == EEXIST ? "socket path in use: another server published it first"
                             : std::string("cannot bind: ") + strerror(saved);
    return false;
  }
  return true;
}

}  // namespace qemutrace
