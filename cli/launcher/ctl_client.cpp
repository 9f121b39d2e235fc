#include "launcher/ctl_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "launcher/qemu.h"
#include "launcher/util.h"

namespace qemutrace::launcher {

namespace {
// Connects to a Unix socket; paths longer than sun_path go through
// /proc/self/fd/<dirfd>/name.
int connect_unix(const std::string& path, std::string* why) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = path;
  int dirfd = -1;
  if (p.size() >= sizeof addr.sun_path) {
    dirfd = open(dirname_of(path).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
      *why = std::strerror(errno);
      return -1;
    }
    p = "/proc/self/fd/" + std::to_string(dirfd) + "/" + basename_of(path);
    if (p.size() >= sizeof addr.sun_path) {
      close(dirfd);
      *why = "socket name too long";
      return -1;
    }
  }
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  if (dirfd >= 0) close(dirfd);
  if (rc != 0) {
    if (fd >= 0) close(fd);
    *why = std::strerror(err);
    return -1;
  }
  return fd;
}
}  // namespace

std::optional<SocketFileId> socket_served_by(const std::string& path, pid_t server) {
  struct stat before{}, after{};
  if (lstat(path.c_str(), &before) != 0 || !S_ISSOCK(before.st_mode)) return std::nullopt;
  std::string why;
  int fd = connect_unix(path, &why);
  if (fd < 0) return std::nullopt;
  ucred cred{};
  socklen_t len = sizeof cred;
  bool ours = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == server;
  close(fd);
  // The file must not have been replaced while we asked.
  if (!ours || lstat(path.c_str(), &after) != 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino)
    return std::nullopt;
  return SocketFileId{uint64_t(before.st_dev), uint64_t(before.st_ino)};
}

void remove_socket_file(const std::string& path, const std::optional<SocketFileId>& id) {
  struct stat st{};
  if (!id || lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  if (uint64_t(st.st_dev) == id->dev && uint64_t(st.st_ino) == id->ino) unlink(path.c_str());
}

std::string ctl_request(const std::string& socket_path, const std::string& command, int timeout_ms) {
  std::string why;
  int fd = connect_unix(socket_path, &why);
  if (fd < 0) throw LaunchError("cannot connect to control socket " + socket_path + ": " + why);
  std::string line = command + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      throw LaunchError("cannot write to control socket " + socket_path + ": " + std::strerror(err));
    }
    p += n;
    left -= n;
  }
  std::string reply;
  double deadline = now_seconds() + timeout_ms / 1000.0;
  while (reply.find('\n') == std::string::npos) {
    int ms = static_cast<int>((deadline - now_seconds()) * 1000);
    if (ms <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    int r = poll(&pfd, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, n);
  }
  close(fd);
  auto nl = reply.find('\n');
  if (nl == std::string::npos) {
    if (reply.empty()) throw LaunchError("no answer from control socket " + socket_path + " to '" + command + "'");
  } else {
    reply.resize(nl);
  }
  if (!reply.empty() && reply.back() == '\r') reply.pop_back();
  return reply;
}

std::optional<TraceStatus> parse_status(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  TraceStatus s;
  try {
    s.state = j.value("state", std::string("?"));
    s.instructions = j.value("instructions", uint64_t{0});
    s.bytes = j.value("bytes", uint64_t{0});
    if (j.contains("cores") && j["cores"].is_array()) {
      for (const auto& c : j["cores"]) {
        CoreStatus cs;
        cs.core = c.value("core", 0);
        cs.instructions = c.value("instructions", uint64_t{0});
        cs.bytes = c.value("bytes", uint64_t{0});
        s.cores.push_back(cs);
      }
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return s;
}

std::string describe_status(const TraceStatus& s) {
  std::string st = s.state == "limit" ? "limit reached" : s.state;
  std::string out = st + ": " + std::to_string(s.instructions) + " instructions";
  if (!s.cores.empty()) {
    out += " (";
    for (size_t i = 0; i < s.cores.size(); ++i) {
      if (i) out += ", ";
      out += "core " + std::to_string(s.cores[i].core) + " " + std::to_string(s.cores[i].instructions);
    }
    out += ")";
  }
  out += ", " + human_bytes(static_cast<double>(s.bytes));
  if (s.instructions) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ", %.3f B/insn", static_cast<double>(s.bytes) / s.instructions);
    out += buf;
  }
  return out;
}

std::string resolve_ctl_target(const std::string& t) {
  struct stat st;
  if (stat(t.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return t;
  std::string c = ctl_path_for_base(t);
  if (stat(c.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return c;
  if (stat(t.c_str(), &st) == 0) throw LaunchError(t + " is not a socket, and " + c + " does not exist");
  throw LaunchError("no control socket: neither " + t + " nor " + c + " exists (is the run still going?)");
}

}  // namespace qemutrace::launcher
