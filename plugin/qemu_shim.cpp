#include "qemu_shim.h"

#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace qemutrace::plugin::shim {
namespace {

// include/hw/core/cpu.h: run_on_cpu_data and run_on_cpu_func.
union RunOnCpuData {
  void* host_ptr;
  uint64_t u;  // NOLINT: the union's size and alignment must match QEMU's
};
using RunOnCpuFunc = void (*)(void* cpu, RunOnCpuData);

// include/sysemu/runstate-action.h: ShutdownCause (qapi). The cause of a
// monitor `quit`, which runs the atexit callbacks like a normal exit.
constexpr int kShutdownCauseHostQmpQuit = 2;

struct Internals {
  void (*async_run_on_cpu)(void* cpu, RunOnCpuFunc, RunOnCpuData) = nullptr;
  void* (*qemu_get_cpu)(int index) = nullptr;
  void (*shutdown_request)(int cause) = nullptr;
  // Single-threaded TCG: &current_cpu of the vCPU thread (a thread-local
  // Debian's binary exports), and qemu_get_cpu(k) per vCPU.
  void** current_cpu = nullptr;
  std::vector<void*> cpus;
};
// Never destroyed: vCPU callbacks may still run after static destructors.
Internals& g_internals = *new Internals;

template <class F>
void lookup(F** out, const char* name) {
  *out = reinterpret_cast<F*>(dlsym(RTLD_DEFAULT, name));
}

void call_plain(void*, RunOnCpuData d) { reinterpret_cast<void (*)()>(d.host_ptr)(); }

}  // namespace

void init() {
  lookup(&g_internals.async_run_on_cpu, "async_run_on_cpu");
  lookup(&g_internals.qemu_get_cpu, "qemu_get_cpu");
  lookup(&g_internals.shutdown_request, "qemu_system_shutdown_request");
}

bool run_on_vcpu0(void (*fn)()) {
  const Internals& q = g_internals;
  if (!q.async_run_on_cpu || !q.qemu_get_cpu) return false;
  void* cpu = q.qemu_get_cpu(0);
  if (!cpu) return false;
  RunOnCpuData d;
  d.host_ptr = reinterpret_cast<void*>(fn);
  q.async_run_on_cpu(cpu, call_plain, d);
  return true;
}

bool find_current_cpu(unsigned ncores) {
  Internals& q = g_internals;
  // dlsym of a thread-local gives the calling thread's copy.
  lookup(&q.current_cpu, "current_cpu");
  if (!q.current_cpu || !q.qemu_get_cpu) return false;
  q.cpus.assign(ncores, nullptr);
  for (unsigned j = 0; j < ncores; ++j) q.cpus[j] = q.qemu_get_cpu(int(j));
  return true;
}

int current_vcpu(unsigned guess) {
  Internals& q = g_internals;
  void* cur = *q.current_cpu;
  if (guess < q.cpus.size() && q.cpus[guess] == cur) return int(guess);
  for (unsigned j = 0; j < q.cpus.size(); ++j) {
    if (!q.cpus[j]) q.cpus[j] = q.qemu_get_cpu(int(j));  // created after the lookup
    if (q.cpus[j] == cur) return int(j);
  }
  return -1;
}

void request_shutdown() {
  if (g_internals.shutdown_request) g_internals.shutdown_request(kShutdownCauseHostQmpQuit);
  else kill(getpid(), SIGTERM);  // os-posix.c: termsig_handler -> qemu_system_killed
}

std::vector<std::string> command_line() {
  std::vector<std::string> out;
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string s;
  while (std::getline(f, s, '\0')) out.push_back(s);
  return out;
}

std::string qemu_version() {
  std::string out;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return out;
  exe[n] = 0;
  std::string cmd = std::string("'") + exe + "' --version 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char line[256];
  if (fgets(line, sizeof(line), p)) {
    std::string l = line;
    auto pos = l.find("version ");
    if (pos != std::string::npos) {
      out = l.substr(pos + 8);
      auto e = out.find_first_of(" \n(");
      if (e != std::string::npos) out = out.substr(0, e);
    }
  }
  pclose(p);
  return out;
}

}  // namespace qemutrace::plugin::shim
