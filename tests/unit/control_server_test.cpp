// The plugin's control socket server (plugin/control.cpp) needs no QEMU.
// A start that fails leaves no descriptor and no socket file behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "control.h"
#include "qemutrace/socket_path.h"

#include <dirent.h>
#include <sys/stat.h>

namespace qemutrace::plugin {
namespace {

std::string temp_socket_path(const char* tag) {
  char dir[] = "/tmp/qt-ctl-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/" + tag + ".sock";
}

std::string ask(const std::string& path, const std::string& line) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect: " + std::string(strerror(errno));
  }
  std::string msg = line + "\n", reply;
  (void)!write(fd, msg.data(), msg.size());
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') reply += c;
  close(fd);
  return reply;
}

TEST(ControlServer, AnswersAndRemovesItsSocketAtStop) {
  std::string path = temp_socket_path("ok");
  ControlServer s;
  std::string err;
  ASSERT_TRUE(s.start(path, [](const std::string& c) { return "got " + c; }, &err)) << err;
  EXPECT_EQ(ask(path, "status"), "got status");
  s.stop();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

// Descriptors run out between the listening socket and the wake-up pipe:
// the start fails and takes back both the socket and its file.
TEST(ControlServer, FailedPipeLeavesNoSocketBehind) {
  std::string path = temp_socket_path("nopipe");
  int lowest = open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free descriptor
  ASSERT_GE(lowest, 0);
  close(lowest);
  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit one_more = saved;
  one_more.rlim_cur = rlim_t(lowest) + 1;  // room for the socket, not for a pipe
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &one_more), 0);
  ControlServer s;
  std::string err;
  bool started = s.start(path, [](const std::string& c) { return c; }, &err);
  int probe = fcntl(lowest, F_GETFD);
  int probe_errno = errno;
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_FALSE(started);
  EXPECT_NE(err.find("pipe"), std::string::npos) << err;
  EXPECT_EQ(probe, -1) << "the listening socket (fd " << lowest << ") is still open";
  EXPECT_EQ(probe_errno, EBADF);
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " is left behind";
}

// A socket file whose server is gone: bound, then closed without unlinking.
void make_stale_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  // Left by a server that died a while ago.
  timespec an_hour_ago[2] = {{time(nullptr) - 3600, 0}, {time(nullptr) - 3600, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), an_hour_ago, AT_SYMLINK_NOFOLLOW), 0);
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = d ? readdir(d) : nullptr)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.push_back(e->d_name);
  if (d) closedir(d);
  return names;
}

TEST(ControlServer, StartsOverAStaleSocket) {
  std::string path = temp_socket_path("stale");
  make_stale_socket(path);
  ControlServer s;
  std::string err;
  ASSERT_TRUE(s.start(path, [](const std::string& c) { return "got " + c; }, &err)) << err;
  EXPECT_EQ(ask(path, "status"), "got status");
  EXPECT_EQ(entries(path.substr(0, path.rfind('/'))), std::vector<std::string>{"stale.sock"});
  s.stop();
}

// Two launchers find the same stale socket; the first removes it and starts
// its server there. The second's removal must not take the live socket.
TEST(SocketPath, RemovalKeepsASocketPublishedAfterTheProbe) {
  std::string path = temp_socket_path("race");
  make_stale_socket(path);
  struct stat probed;
  ASSERT_EQ(lstat(path.c_str(), &probed), 0);
  ASSERT_EQ(unlink(path.c_str()), 0);  // the first launcher's removal
  ControlServer winner;
  std::string err;
  ASSERT_TRUE(winner.start(path, [](const std::string&) { return "winner"; }, &err)) << err;
  EXPECT_FALSE(remove_socket_if_unchanged(path, probed));  // the second launcher's, late
  EXPECT_EQ(ask(path, "status"), "winner");
  EXPECT_EQ(entries(path.substr(0, path.rfind('/'))).size(), 1u) << "a renamed-aside file was left behind";
  winner.stop();
}

TEST(SocketPath, RemovalTakesTheSocketThatWasProbed) {
  std::string path = temp_socket_path("gone");
  make_stale_socket(path);
  struct stat probed;
  ASSERT_EQ(lstat(path.c_str(), &probed), 0);
  EXPECT_TRUE(remove_socket_if_unchanged(path, probed));
  EXPECT_TRUE(entries(path.substr(0, path.rfind('/'))).empty());
}

// The socket appears at its path only once it listens, and never replaces
// one that appeared first.
TEST(SocketPath, PublishRefusesAPathTakenMeanwhile) {
  std::string path = temp_socket_path("taken");
  make_stale_socket(path);  // appeared after the caller's probe
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::string err;
  EXPECT_FALSE(publish_listening_socket(fd, path, &err));
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  close(fd);
  EXPECT_EQ(entries(path.substr(0, path.rfind('/'))), std::vector<std::string>{"taken.sock"});
}

TEST(SocketPath, PublishedSocketListensAtOnce) {
  std::string path = temp_socket_path("listen");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::string err;
  ASSERT_TRUE(publish_listening_socket(fd, path, &err)) << err;
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  int client = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
  close(client);
  close(fd);
  unlink(path.c_str());
}

}  // namespace
}  // namespace qemutrace::plugin
