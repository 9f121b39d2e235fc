// plugin/qemu_shim.cpp outside QEMU: none of QEMU's internal entry points
// are there, as with a QEMU binary that does not export them.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "qemu_shim.h"

namespace qemutrace::plugin {
namespace {

std::atomic<int> g_sigterm{0};
void on_sigterm(int) { g_sigterm++; }

// Without qemu_system_shutdown_request the shutdown goes the way QEMU
// takes it from a user: SIGTERM, which its main thread turns into a clean
// shutdown (the exit callbacks finish the files). The call returns: a vCPU
// thread must never exit the process itself.
TEST(QemuShim, ShutdownWithoutTheEntryPointIsSigterm) {
  struct sigaction sa {}, old {};
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGTERM, &sa, &old), 0);
  shim::init();
  shim::request_shutdown();
  // Delivered before kill() returns, or (under ThreadSanitizer, which
  // defers signals) soon after.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (g_sigterm.load() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  EXPECT_EQ(g_sigterm.load(), 1);
  sigaction(SIGTERM, &old, nullptr);
}

TEST(QemuShim, NoVcpuToRunOnWithoutTheEntryPoints) {
  shim::init();
  EXPECT_FALSE(shim::run_on_vcpu0([] {}));
}

}  // namespace
}  // namespace qemutrace::plugin
