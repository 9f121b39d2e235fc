#include "control.h"

#include "qemutrace/socket_path.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace qemutrace::plugin {

bool ControlServer::start(const std::string& path, Handler h, std::string* error) {
  switch (claim_socket_path(path)) {
    case SocketPathState::NotASocket:
      *error = "bad value '" + path + "' for 'ctl' (exists and is not a socket)";
      return false;
    case SocketPathState::Live:
      *error = "bad value '" + path + "' for 'ctl' (socket path in use: a server answers there)";
      return false;
    case SocketPathState::TooLong:
      *error = "bad value '" + path + "' for 'ctl' (socket path too long)";
      return false;
    case SocketPathState::Free:  // a stale socket was removed
      break;
  }
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    *error = std::string("cannot create ctl socket: ") + strerror(errno);
    return false;
  }
  // Any failure from here on leaves neither the socket nor its file behind.
  bool published = false;
  auto undo = [&](std::string why) {
    *error = std::move(why);
    close(listen_fd_);
    listen_fd_ = -1;
    if (published) unlink(path.c_str());
    return false;
  };
  std::string why;
  if (!publish_listening_socket(listen_fd_, path, &why)) return undo("bad value '" + path + "' for 'ctl' (" + why + ")");
  published = true;
  if (pipe2(wake_, O_CLOEXEC) != 0) return undo(std::string("cannot create the ctl wake-up pipe: ") + strerror(errno));
  path_ = path;
  handler_ = std::move(h);
  running_ = true;
  thread_ = new std::thread([this] { run(); });
  return true;
}

void ControlServer::run() {
  struct Conn {
    int fd;
    std::string buf;
  };
  std::vector<Conn> conns;
  for (;;) {
    std::vector<pollfd> p;
    p.push_back({wake_[0], POLLIN, 0});
    p.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : conns) p.push_back({c.fd, POLLIN, 0});
    if (poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) break;
    if (p[1].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) conns.push_back({fd, {}});
    }
    for (size_t i = 2; i < p.size(); ++i) {
      if (!p[i].revents) continue;
      Conn& c = conns[i - 2];
      char tmp[512];
      ssize_t r = read(c.fd, tmp, sizeof(tmp));
      bool closed = r <= 0;
      if (r > 0) c.buf.append(tmp, r);
      size_t nl;
      while ((nl = c.buf.find('\n')) != std::string::npos || (closed && !c.buf.empty())) {
        std::string line = nl == std::string::npos ? c.buf : c.buf.substr(0, nl);
        c.buf.erase(0, nl == std::string::npos ? c.buf.size() : nl + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        while (!line.empty() && line.front() == ' ') line.erase(0, 1);
        if (line.empty()) continue;
        std::string reply = handler_(line) + "\n";
        const char* d = reply.data();
        size_t left = reply.size();
        while (left) {
          ssize_t w = send(c.fd, d, left, MSG_NOSIGNAL);
          if (w <= 0) break;
          d += w;
          left -= w;
        }
      }
      if (closed) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(conns, [](const Conn& c) { return c.fd < 0; });
  }
  for (auto& c : conns) close(c.fd);
}

void ControlServer::stop() {
  if (!running_) return;
  running_ = false;
  char b = 1;
  (void)!write(wake_[1], &b, 1);
  auto* t = static_cast<std::thread*>(thread_);
  if (t->joinable()) t->join();
  delete t;
  thread_ = nullptr;
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  unlink(path_.c_str());
}

}  // namespace qemutrace::plugin
