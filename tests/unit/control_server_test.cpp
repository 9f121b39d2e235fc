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
#include <string>

#include "control.h"

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

}  // namespace
}  // namespace qemutrace::plugin
