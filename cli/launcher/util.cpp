#include "launcher/util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "qemutrace/writer.h"

#ifndef QEMUTRACE_SOURCE_DIR
#define QEMUTRACE_SOURCE_DIR ""
#endif
#ifndef QEMUTRACE_INSTALL_LIBDIR
#define QEMUTRACE_INSTALL_LIBDIR "/usr/local/lib"
#endif
#ifndef QEMUTRACE_INSTALL_DATADIR
#define QEMUTRACE_INSTALL_DATADIR "/usr/local/share"
#endif

namespace qemutrace::launcher {

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = 0;
  return dirname_of(buf);
}

std::string source_dir() {
  if (const char* e = std::getenv("QEMUTRACE_SRC"); e && *e) return e;
  std::string built = QEMUTRACE_SOURCE_DIR;
  if (!built.empty() && file_exists(built + "/guest")) return built;
  std::string share = std::string(QEMUTRACE_INSTALL_DATADIR) + "/qemutrace";
  if (file_exists(share + "/guest")) return share;
  std::string rel = exe_dir() + "/../share/qemutrace";
  if (file_exists(rel + "/guest")) return rel;
  return built.empty() ? "." : built;
}

std::string plugin_path() {
  if (const char* e = std::getenv("QEMUTRACE_PLUGIN"); e && *e) {
    if (!is_regular_file(e)) throw LaunchError(std::string("plugin not found: ") + e + " (from $QEMUTRACE_PLUGIN)");
    return absolute_path(e);
  }
  std::string dir = exe_dir();
  for (const std::string& p : {dir + "/../lib/libqemutrace.so", dir + "/../lib/qemutrace/libqemutrace.so",
                               std::string(QEMUTRACE_INSTALL_LIBDIR) + "/libqemutrace.so",
                               std::string(QEMUTRACE_INSTALL_LIBDIR) + "/qemutrace/libqemutrace.so"}) {
    if (is_regular_file(p)) return absolute_path(p);
  }
  throw LaunchError("plugin not found: " + dir + "/../lib/libqemutrace.so (build it with make, or set QEMUTRACE_PLUGIN)");
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  if (ec) return path;
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string dirname_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string basename_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

std::optional<std::string> which(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (is_regular_file(cand) && access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> shell_split(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool have = false;
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (have) words.push_back(cur), cur.clear(), have = false;
      ++i;
    } else if (c == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string::npos) throw LaunchError("unterminated ' in: " + line);
      cur += line.substr(i + 1, end - i - 1);
      have = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      have = true;
      while (true) {
        if (i >= line.size()) throw LaunchError("unterminated \" in: " + line);
        char d = line[i];
        if (d == '"') { ++i; break; }
        if (d == '\\' && i + 1 < line.size() && std::strchr("\\\"$`\n", line[i + 1])) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        ++i;
      }
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[i + 1];
      have = true;
      i += 2;
    } else {
      cur += c;
      have = true;
      ++i;
    }
  }
  if (have) words.push_back(cur);
  return words;
}

std::string shell_quote(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
                        std::string::npos)
    return w;
  std::string out = "'";
  for (char c : w) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += shell_quote(a);
  }
  return s;
}

int run_capture(const std::vector<std::string>& argv, std::string* out, std::string* err) {
  int opipe[2] = {-1, -1}, epipe[2] = {-1, -1};
  if (out && pipe2(opipe, O_CLOEXEC) != 0) throw LaunchError(std::string("pipe: ") + std::strerror(errno));
  if (err && pipe2(epipe, O_CLOEXEC) != 0) throw LaunchError(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) throw LaunchError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (out) dup2(opipe[1], 1);
    if (err) dup2(epipe[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "qemutrace: cannot run %s: %s\n", argv[0].c_str(), std::strerror(errno));
    _exit(127);
  }
  if (out) close(opipe[1]);
  if (err) close(epipe[1]);
  std::vector<pollfd> fds;
  if (out) fds.push_back({opipe[0], POLLIN, 0});
  if (err) fds.push_back({epipe[0], POLLIN, 0});
  while (!fds.empty()) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < fds.size();) {
      if (fds[i].revents) {
        char buf[8192];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0) {
          (out && fds[i].fd == opipe[0] ? out : err)->append(buf, n);
        } else if (n == 0 || errno != EINTR) {
          close(fds[i].fd);
          fds.erase(fds.begin() + i);
          continue;
        }
      }
      ++i;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::optional<int64_t> parse_count(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s == "-1") return -1;
  size_t pos = 0;
  int64_t v = 0;
  for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos) {
    if (v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (s[pos] - '0');
  }
  if (pos == 0) return std::nullopt;
  int64_t mul = 1;
  if (pos < s.size()) {
    switch (s[pos]) {
      case 'k': case 'K': mul = 1000; break;
      case 'm': case 'M': mul = 1000000; break;
      case 'g': case 'G': mul = 1000000000; break;
      default: return std::nullopt;
    }
    if (++pos != s.size()) return std::nullopt;
  }
  if (v > INT64_MAX / mul) return std::nullopt;
  return v * mul;
}

std::optional<int64_t> parse_count_option(const std::string& s, bool no_limit) {
  auto c = parse_count(s);
  if (!c || (*c < 0 && !(no_limit && *c == -1))) return std::nullopt;
  return c;
}

std::string count_option_choices(bool no_limit) {
  return std::string("a count such as 1000000 or 10M") + (no_limit ? " (or -1)" : "");
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

std::string human_bytes(double n) {
  char buf[32];
  if (n >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", n / (1024.0 * 1024 * 1024));
  else if (n >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.2f MiB", n / (1024.0 * 1024));
  else if (n >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.0f B", n);
  return buf;
}

double now_seconds() { return double(qemutrace::monotonic_ns()) / 1e9; }

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

TempDir::TempDir() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/qemutrace-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (!mkdtemp(buf.data())) throw LaunchError("cannot create a temporary directory in " + tmpl + ": " + std::strerror(errno));
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace qemutrace::launcher
