// The control socket: a Unix stream socket served by one plugin thread.
#pragma once

#include <functional>
#include <string>

namespace qemutrace::plugin {

class ControlServer {
 public:
  // handler gets one command line (without newline) and returns the reply
  // line (without newline).
  using Handler = std::function<std::string(const std::string&)>;
  // Binds PATH (mode 0600). Fails if a server already answers there; removes
  // a stale socket file.
  bool start(const std::string& path, Handler h, std::string* error);
  void stop();
  ~ControlServer() { stop(); }

 private:
  void run();
  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  bool running_ = false;
  void* thread_ = nullptr;
};

}  // namespace qemutrace::plugin
