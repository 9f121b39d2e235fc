#include "launcher/session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <deque>

#include "launcher/util.h"

namespace qemutrace::launcher {

namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= w;
  }
}
void write_str(int fd, const std::string& s) { write_all(fd, s.data(), s.size()); }

int connect_unix_nb(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return -1;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Strips the terminal escapes QEMU's readline echoes back.
std::string strip_escapes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;
      continue;
    }
    if (s[i] == '\r') continue;
    out += s[i];
  }
  return out;
}

class Session {
 public:
  explicit Session(const SessionConfig& cfg) : cfg_(cfg) {}
  SessionResult run();

 private:
  void spawn();
  void on_guest_output(const char* p, size_t n);
  void on_qemu_stderr(const char* p, size_t n);
  void on_stdin(const char* p, size_t n);
  void on_monitor(const char* p, size_t n);
  void handle_line(const std::string& line);
  void tick();
  void mark_started();
  void out(const std::string& s);  // console text to stdout
  void err_line(const std::string& s);
  void clear_status();
  void draw_status();
  void prompt();
  void scan_line(const std::string& line);

  const SessionConfig& cfg_;
  SessionResult res_;
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, in_hold_ = -1, mon_fd_ = -1;
  bool stdin_open_ = false;
  std::string guest_line_, err_buf_, stdin_buf_, mon_buf_;
  std::string startup_stderr_;
  bool status_tty_ = false;
  bool status_drawn_ = false;
  std::string status_text_;
  double start_time_ = 0, last_poll_ = 0, last_tracing_at_ = 0;
  uint64_t last_insns_ = 0;
  double last_insns_time_ = 0;
  double mips_ = 0;
  bool mon_banner_seen_ = false;
  bool awaiting_monitor_ = false;
  std::string pending_cmd_;
  std::deque<std::string> queued_lines_;
  bool prompt_shown_ = false;
  bool stdout_tty_ = false;
  std::string last_state_;
  bool reprompt_due_ = false;
  double last_output_ = 0;
  bool last_output_newline_ = true;
};

void Session::spawn() {
  int o[2], e[2], i[2] = {-1, -1};
  if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC)) throw LaunchError(std::string("pipe: ") + std::strerror(errno));
  if (cfg_.stdin_mode == StdinMode::Closed && pipe2(i, O_CLOEXEC))
    throw LaunchError(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv = cfg_.qemu_argv;
  if (cfg_.console) {
    argv.push_back("-monitor");
    argv.push_back("unix:" + cfg_.monitor_socket + ",server=on,wait=off");
  }
  pid_t launcher = getpid();
  pid_ = fork();
  if (pid_ < 0) throw LaunchError(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    // QEMU must not outlive its launcher (kill -9 of qemutrace): the kernel
    // sends it SIGTERM, on which QEMU shuts down and the plugin finishes the
    // files. The signal follows the thread that forked, so the launcher
    // forks from the thread that lives until it exits (the main thread).
    // A launcher that died before prctl leaves us adopted: give up.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != launcher) _exit(127);
    dup2(o[1], 1);
    dup2(e[1], 2);
    if (i[0] >= 0) dup2(i[0], 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "qemutrace: cannot run %s: %s\n", argv[0].c_str(), std::strerror(errno));
    _exit(127);
  }
  close(o[1]);
  close(e[1]);
  out_fd_ = o[0];
  err_fd_ = e[0];
  if (i[0] >= 0) {
    close(i[0]);
    in_hold_ = i[1];
  }
}

void Session::clear_status() {
  if (status_drawn_) {
    write_str(2, "\r\033[K");
    status_drawn_ = false;
  }
}

void Session::draw_status() {
  // Never on a line the guest left unfinished (a shell prompt): \r would erase it.
  if (!status_tty_ || status_text_.empty() || !last_output_newline_) return;
  winsize ws{};
  std::string t = status_text_;
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 && t.size() >= ws.ws_col) t.resize(ws.ws_col - 1);
  write_str(2, "\r\033[K" + t);
  status_drawn_ = true;
}

void Session::out(const std::string& s) {
  clear_status();
  write_str(1, s);
}

void Session::err_line(const std::string& s) {
  clear_status();
  if (prompt_shown_) {
    write_str(1, "\n");
    prompt_shown_ = false;
    reprompt_due_ = true;
  }
  write_str(2, s + "\n");
}

void Session::prompt() {
  if (!cfg_.console || mon_fd_ < 0 || awaiting_monitor_ || prompt_shown_) return;
  reprompt_due_ = false;
  write_str(1, "(qemu) ");
  prompt_shown_ = true;
}

void Session::mark_started() {
  if (res_.started) return;
  res_.started = true;
  if (!startup_stderr_.empty()) {
    clear_status();
    write_str(2, startup_stderr_);
    startup_stderr_.clear();
  }
}

void Session::scan_line(const std::string& raw) {
  std::string line = raw;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.find("qemutrace-guest: ready") != std::string::npos) res_.guest_ready = true;
  auto p = line.find("qemutrace-guest: exit ");
  if (p != std::string::npos) {
    std::string rest = line.substr(p + 22);
    char* end = nullptr;
    long v = std::strtol(rest.c_str(), &end, 10);
    if (end != rest.c_str()) res_.workload_exit = static_cast<int>(v);
  }
  // SeaBIOS's last words when nothing boots; it then waits forever.
  if (line.find("No bootable device.") != std::string::npos) res_.no_bootable_device = true;
  if (res_.panic_line.empty()) {
    auto k = line.find("Kernel panic - not syncing");
    if (k != std::string::npos) res_.panic_line = line.substr(k);
  }
}

void Session::on_guest_output(const char* p, size_t n) {
  mark_started();
  res_.guest_output_tail.append(p, n);
  if (res_.guest_output_tail.size() > 16384)
    res_.guest_output_tail.erase(0, res_.guest_output_tail.size() - 8192);
  for (size_t i = 0; i < n; ++i) {
    guest_line_ += p[i];
    if (p[i] == '\n' || guest_line_.size() > 4096) {
      scan_line(guest_line_);
      guest_line_.clear();
    }
  }
  if (!cfg_.echo_guest) return;
  clear_status();
  if (prompt_shown_) {
    // Take the prompt off the line; it comes back when the guest is quiet.
    if (stdout_tty_) write_str(1, "\r\033[K");
    else write_str(1, "\n");
    prompt_shown_ = false;
    reprompt_due_ = true;
  } else if (cfg_.console && mon_fd_ >= 0 && mon_banner_seen_ && !awaiting_monitor_) {
    reprompt_due_ = true;
  }
  write_all(1, p, n);
  last_output_ = now_seconds();
  last_output_newline_ = n && p[n - 1] == '\n';
}

void Session::on_qemu_stderr(const char* p, size_t n) {
  // "qemu-system-x86_64: terminating on signal 15 from pid 123 (kill)":
  // someone stopped QEMU; it shuts down cleanly and the plugin finishes.
  std::string chunk(p, n);
  if (auto k = chunk.find("terminating on signal "); k != std::string::npos && !res_.qemu_stop_signal) {
    res_.qemu_stop_signal = std::atoi(chunk.c_str() + k + 22);
    auto e = chunk.find('\n', k);
    res_.qemu_stop_line = trim(chunk.substr(k, e == std::string::npos ? std::string::npos : e - k));
  }
  if (!res_.started) {
    startup_stderr_.append(p, n);
    return;
  }
  err_buf_.append(p, n);
  size_t nl;
  while ((nl = err_buf_.find('\n')) != std::string::npos) {
    err_line(err_buf_.substr(0, nl));
    err_buf_.erase(0, nl + 1);
  }
}

void Session::on_monitor(const char* p, size_t n) {
  mon_buf_.append(p, n);
  const std::string kPrompt = "(qemu) ";
  if (mon_buf_.size() < kPrompt.size() || mon_buf_.compare(mon_buf_.size() - kPrompt.size(), kPrompt.size(), kPrompt) != 0)
    return;
  std::string text = mon_buf_.substr(0, mon_buf_.size() - kPrompt.size());
  mon_buf_.clear();
  if (!mon_banner_seen_) {
    mon_banner_seen_ = true;  // "QEMU x monitor - type 'help' ..." : we print our own
    prompt();
    while (!queued_lines_.empty() && !awaiting_monitor_) {
      std::string l = queued_lines_.front();
      queued_lines_.pop_front();
      handle_line(l);
    }
    return;
  }
  // The reply starts with the echoed command line, up to the first CRLF.
  auto crlf = text.find("\r\n");
  std::string reply = crlf == std::string::npos ? "" : strip_escapes(text.substr(crlf + 2));
  awaiting_monitor_ = false;
  out(reply);
  if (pending_cmd_ == "help" || pending_cmd_ == "?")
    out("qqq_start_trace -- start tracing (qemutrace)\n"
        "qqq_stop_trace -- stop tracing (qemutrace; qqq_end_trace is the same)\n"
        "qqq_status -- show the trace state and counts (qemutrace)\n");
  pending_cmd_.clear();
  prompt();
  while (!queued_lines_.empty() && !awaiting_monitor_) {
    std::string l = queued_lines_.front();
    queued_lines_.pop_front();
    handle_line(l);
  }
}

void Session::handle_line(const std::string& raw) {
  std::string line = trim(raw);
  prompt_shown_ = false;
  if (line.empty()) {
    prompt();
    return;
  }
  std::string word = line.substr(0, line.find_first_of(" \t"));
  if (word == "qqq_start_trace" || word == "qqq_stop_trace" || word == "qqq_end_trace" || word == "qqq_status") {
    if (cfg_.ctl_socket.empty()) {
      out("qemutrace: tracing is not set up for this run (no -q_trace / --trace)\n");
    } else {
      std::string cmd = word == "qqq_start_trace" ? "start" : word == "qqq_status" ? "status" : "stop";
      try {
        std::string reply = ctl_request(cfg_.ctl_socket, cmd);
        if (cmd == "status") {
          auto st = parse_status(reply);
          out((st ? describe_status(*st) : reply) + "\n");
          if (st) res_.last_status = st;
        } else if (reply == "ok tracing") {
          out("qemutrace: tracing started (" + cfg_.trace_base + "_<core>)\n");
        } else if (reply == "ok off") {
          out("qemutrace: tracing stopped\n");
        } else {
          out("qemutrace: " + reply + "\n");
        }
      } catch (const LaunchError& e) {
        out(std::string("qemutrace: ") + e.what() + "\n");
      }
    }
    prompt();
    return;
  }
  if (mon_fd_ < 0 || !mon_banner_seen_ || awaiting_monitor_) {
    queued_lines_.push_back(line);
    return;
  }
  pending_cmd_ = word;
  if (word == "quit" || word == "q") res_.user_quit = true;
  awaiting_monitor_ = true;
  write_str(mon_fd_, line + "\n");
}

void Session::on_stdin(const char* p, size_t n) {
  stdin_buf_.append(p, n);
  size_t nl;
  while ((nl = stdin_buf_.find('\n')) != std::string::npos) {
    std::string l = stdin_buf_.substr(0, nl);
    stdin_buf_.erase(0, nl + 1);
    if (awaiting_monitor_ || (mon_fd_ >= 0 && !mon_banner_seen_) || !queued_lines_.empty()) {
      queued_lines_.push_back(l);
    } else {
      handle_line(l);
    }
  }
}

void Session::tick() {
  double now = now_seconds();
  if (now - last_output_ > 0.3) {
    if (reprompt_due_ && !awaiting_monitor_ && queued_lines_.empty()) {
      if (!last_output_newline_) write_str(1, "\n");
      last_output_newline_ = true;
      reprompt_due_ = false;
      prompt();
    }
    if (!status_drawn_) draw_status();
  }
  if (cfg_.console && mon_fd_ == -1 && !cfg_.monitor_socket.empty()) {
    mon_fd_ = connect_unix_nb(cfg_.monitor_socket);
    if (mon_fd_ >= 0) mark_started();
  }
  // Nothing said QEMU is up (no guest output, monitor or control socket):
  // assume it is after a while. Until then its stderr is held back so that a
  // failed start reads as one line; a loaded host can take many seconds to
  // fail (a plugin that refuses an option), so the while is long.
  if (now - start_time_ > 30.0) mark_started();
  if (cfg_.ctl_socket.empty() || now - last_poll_ < 0.5) return;
  last_poll_ = now;
  std::optional<TraceStatus> st;
  try {
    st = parse_status(ctl_request(cfg_.ctl_socket, "status", 1000));
  } catch (const LaunchError&) {
    return;
  }
  if (!st) return;
  if (!res_.ctl_socket_id) {
    res_.ctl_socket_id = socket_served_by(cfg_.ctl_socket, pid_);
    if (!res_.ctl_socket_id) return;  // another run serves this path: not our status
  }
  if (now - start_time_ > 1.0) mark_started();
  if (st->state == "tracing") {
    if (last_tracing_at_ > 0) res_.tracing_seconds += now - last_tracing_at_;
    last_tracing_at_ = now;
  } else {
    if (last_tracing_at_ > 0) res_.tracing_seconds += now - last_tracing_at_;
    last_tracing_at_ = 0;
  }
  if (last_insns_time_ > 0 && now > last_insns_time_) {
    double inst = (st->instructions - std::min(last_insns_, st->instructions)) / (now - last_insns_time_) / 1e6;
    mips_ = mips_ == 0 ? inst : 0.5 * mips_ + 0.5 * inst;
  }
  last_insns_ = st->instructions;
  last_insns_time_ = now;
  if (st->state == "limit" && last_state_ != "limit") {
    res_.limit_reached = true;  // the plugin's own notice has gone to stderr
  }
  last_state_ = st->state;
  res_.last_status = st;
  if (status_tty_) {
    char buf[64];
    std::string s = "[qemutrace " + std::string(st->state == "limit" ? "limit reached" : st->state) + "] ";
    for (const auto& c : st->cores) s += "c" + std::to_string(c.core) + " " + human_count(c.instructions) + "  ";
    s += "total " + human_count(st->instructions) + " insns";
    std::snprintf(buf, sizeof buf, "  %.1f MIPS  ", st->state == "tracing" ? mips_ : 0.0);
    s += buf;
    s += human_bytes(st->bytes);
    if (st->instructions) {
      std::snprintf(buf, sizeof buf, "  %.3f B/insn", static_cast<double>(st->bytes) / st->instructions);
      s += buf;
    }
    status_text_ = s;
    if (now - last_output_ > 0.3) draw_status();
  }
}

SessionResult Session::run() {
  stdout_tty_ = isatty(1);
  status_tty_ = cfg_.status_line && !cfg_.console && isatty(2) && !cfg_.ctl_socket.empty();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int, old_term, old_hup, old_pipe;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old_pipe);
  g_signal = 0;

  start_time_ = now_seconds();
  spawn();
  stdin_open_ = cfg_.console;
  bool forwarded_signal = false;
  int status = 0;
  bool exited = false;
  while (true) {
    if (g_signal && !forwarded_signal) {
      res_.interrupted = true;
      forwarded_signal = true;
      kill(pid_, SIGTERM);
    }
    if (res_.no_bootable_device && !forwarded_signal) {
      forwarded_signal = true;  // nothing will ever run: end QEMU (files are finished)
      kill(pid_, SIGTERM);
    }
    std::vector<pollfd> fds;
    if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
    if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
    if (stdin_open_) fds.push_back({0, POLLIN, 0});
    if (mon_fd_ >= 0) fds.push_back({mon_fd_, POLLIN, 0});
    int timeout = 100;
    int r = poll(fds.data(), fds.size(), timeout);
    if (r < 0 && errno != EINTR) break;
    for (const auto& f : fds) {
      if (!f.revents) continue;
      char buf[65536];
      ssize_t n = read(f.fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (f.fd == out_fd_) {
        if (n <= 0) { close(out_fd_); out_fd_ = -1; } else on_guest_output(buf, n);
      } else if (f.fd == err_fd_) {
        if (n <= 0) { close(err_fd_); err_fd_ = -1; } else on_qemu_stderr(buf, n);
      } else if (f.fd == 0) {
        if (n <= 0) stdin_open_ = false; else on_stdin(buf, n);
      } else if (f.fd == mon_fd_) {
        if (n <= 0) {
          close(mon_fd_);
          mon_fd_ = -2;  // gone for good (quit)
          awaiting_monitor_ = false;
        } else {
          on_monitor(buf, n);
        }
      }
    }
    if (!exited) {
      pid_t w = waitpid(pid_, &status, WNOHANG);
      if (w == pid_) exited = true;
    }
    if (exited && out_fd_ < 0 && err_fd_ < 0) break;
    if (!exited) tick();
  }
  if (!exited) waitpid(pid_, &status, 0);
  if (mon_fd_ >= 0) close(mon_fd_);
  if (in_hold_ >= 0) close(in_hold_);
  double end = now_seconds();
  res_.wall_seconds = end - start_time_;
  if (last_tracing_at_ > 0) res_.tracing_seconds += end - last_tracing_at_;
  clear_status();
  if (prompt_shown_) write_str(1, "\n");
  if (!guest_line_.empty()) scan_line(guest_line_);
  if (WIFEXITED(status)) res_.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) res_.exit_code = 128 + WTERMSIG(status), res_.signaled = true;
  if (!res_.started && (res_.exit_code != 0 || res_.signaled)) {
    // QEMU failed before it ran: keep its first meaningful line.
    std::string first, ours;
    size_t pos = 0;
    std::string all = startup_stderr_ + err_buf_;
    while (pos < all.size()) {
      size_t nl = all.find('\n', pos);
      if (nl == std::string::npos) nl = all.size();
      std::string l = trim(all.substr(pos, nl - pos));
      pos = nl + 1;
      if (l.empty()) continue;
      if (first.empty()) first = l;
      if (ours.empty() && starts_with(l, "qemutrace:")) ours = l;
    }
    std::string line = !ours.empty() ? ours.substr(10) : first;
    res_.startup_error = trim(line.empty() ? "QEMU exited with status " + std::to_string(res_.exit_code) : line);
    if (!ours.empty() && res_.startup_error.find("plugin") == std::string::npos)
      res_.startup_error = "plugin failed to load: " + res_.startup_error;
  } else if (!startup_stderr_.empty()) {
    write_str(2, startup_stderr_);
  }
  if (!err_buf_.empty() && res_.started) write_str(2, err_buf_ + "\n");
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  return res_;
}

}  // namespace

SessionResult run_session(const SessionConfig& cfg) {
  Session s(cfg);
  return s.run();
}

}  // namespace qemutrace::launcher
