/* qt-bench-stream [PASSES]: STREAM-like triad a[i] = b[i] + 3*c[i] over three
 * 8 MiB arrays of uint32_t (2 M elements each); ROI id 1, 7 instructions
 * per element (~15 M per pass), default 16 passes. */
#include "qt-common.h"

#define N (2u << 20)

/* Not vectorised, so x86_64 and i386 run comparable scalar code. */
__attribute__((noinline, optimize("no-tree-vectorize"))) static void triad(uint32_t *restrict a, const uint32_t *restrict b,
                                            const uint32_t *restrict c) {
  for (uint32_t i = 0; i < N; i++) a[i] = b[i] + 3 * c[i];
}

int main(int argc, char **argv) {
  unsigned long passes = qt_arg(argc, argv, 1, 16, "qt-bench-stream", "PASSES");
  uint32_t *a = malloc(N * 4), *b = malloc(N * 4), *c = malloc(N * 4);
  if (!a || !b || !c) { fprintf(stderr, "qt-bench-stream: out of memory\n"); return 1; }
  for (uint32_t i = 0; i < N; i++) { a[i] = 0; b[i] = i; c[i] = i ^ 0x55; }
  uint64_t t0 = qt_now_ns();
  qemutrace_start(1);
  for (unsigned long p = 0; p < passes; p++) {
    triad(a, b, c);
    __asm__ __volatile__("" ::: "memory");
  }
  qemutrace_stop(1);
  uint64_t ns = qt_now_ns() - t0;
  uint32_t s = 0;
  for (uint32_t i = 0; i < N; i += 4096) s += a[i];
  printf("qt-bench-stream: passes=%lu elems=%u check=%08x roi_ns=%llu\n", passes, N, s,
         (unsigned long long)ns);
  return 0;
}
