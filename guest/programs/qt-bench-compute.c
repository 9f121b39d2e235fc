/* qt-bench-compute [ITERS_M]: integer compute loop, no memory traffic;
 * ROI id 1, ~225 M instructions at the default of 15 (million iterations). */
#include "qt-common.h"

int main(int argc, char **argv) {
  unsigned long m = qt_arg(argc, argv, 1, 15, "qt-bench-compute", "ITERS_M");
  unsigned long iters = m * 1000000ul;
  uint32_t a = 1, b = 2, c = 3;
  uint64_t t0 = qt_now_ns();
  qemutrace_start(1);
  for (unsigned long i = 0; i < iters; i++) {
    a = a * 1664525u + 1013904223u;
    b ^= a >> 7;
    c += (b << 3) ^ (a >> 11);
    __asm__ __volatile__("" : "+r"(a), "+r"(b), "+r"(c)); /* keep the loop honest */
  }
  qemutrace_stop(1);
  uint64_t ns = qt_now_ns() - t0;
  printf("qt-bench-compute: iters=%lu result=%08x roi_ns=%llu\n", iters, a ^ b ^ c,
         (unsigned long long)ns);
  return 0;
}
