// bench/guest/decode.cpp: reader decode throughput on real traces. Decodes
// every instruction and access of each file given (per-core BASE_<k>) with
// qemutrace::CoreReader and touches every field, nothing else (unlike
// `qemutrace stats`, which also fills hash sets). Prints one JSON line:
// {"instructions":N,"accesses":M,"wall_s":W,"cpu_s":C}.
// Built by bench/guest/bench.py against BUILD/lib/libqemutrace-trace.a.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "qemutrace/reader.h"

static double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

int main(int argc, char** argv) {
  uint64_t insns = 0, accs = 0, sum = 0;
  auto t0 = std::chrono::steady_clock::now();
  double c0 = cpu_seconds();
  for (int i = 1; i < argc; ++i) {
    auto r = qemutrace::CoreReader::open(argv[i]);
    while (const qemutrace::Instruction* in = r->next()) {
      ++insns;
      sum += in->pc + in->cpl;
      for (uint32_t k = 0; k < in->access_count; ++k) {
        const qemutrace::MemAccess& a = in->accesses[k];
        sum += a.vaddr + a.paddr + a.size + a.is_store;
      }
      accs += in->access_count;
    }
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - c0;
  std::printf("{\"instructions\":%llu,\"accesses\":%llu,\"wall_s\":%.6f,\"cpu_s\":%.6f,\"sum\":%llu}\n",
              (unsigned long long)insns, (unsigned long long)accs, wall, cpu,
              (unsigned long long)(sum & 0xffff));
  return 0;
}
