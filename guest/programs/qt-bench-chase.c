/* qt-bench-chase [MIB] [STEPS_M]: pointer chase over a random cyclic
 * permutation (Sattolo) of MIB MiB (default 64), STEPS_M million dependent
 * loads (default 35, ~105 M instructions: 3 per step) inside ROI id 1.
 * Every step misses QEMU's soft TLB, so this runs ~10x slower per
 * instruction than the other benchmarks under TCG (~13 s plain). */
#include "qt-common.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char **argv) {
  unsigned long mib = qt_arg(argc, argv, 1, 64, "qt-bench-chase", "MIB");
  unsigned long steps = qt_arg(argc, argv, 2, 35, "qt-bench-chase", "STEPS_M") * 1000000ul;
  size_t n = mib * 1024 * 1024 / sizeof(void *);
  void **a = malloc(n * sizeof(void *));
  size_t *perm = malloc(n * sizeof(size_t));
  if (!a || !perm) { fprintf(stderr, "qt-bench-chase: cannot allocate %lu MiB\n", mib); return 1; }
  for (size_t i = 0; i < n; i++) perm[i] = i;
  for (size_t i = n - 1; i > 0; i--) { /* Sattolo: a single cycle over all slots */
    size_t j = (size_t)(next() % i), t = perm[i];
    perm[i] = perm[j]; perm[j] = t;
  }
  for (size_t i = 0; i < n; i++) a[perm[i]] = &a[perm[(i + 1) % n]];
  free(perm);
  void **p = &a[0];
  uint64_t t0 = qt_now_ns();
  qemutrace_start(1);
  for (unsigned long i = 0; i < steps; i++) {
    p = (void **)*p;
    __asm__ __volatile__("" : "+r"(p));
  }
  qemutrace_stop(1);
  uint64_t ns = qt_now_ns() - t0;
  printf("qt-bench-chase: mib=%lu steps=%lu end=%zu roi_ns=%llu\n", mib, steps,
         (size_t)(p - a), (unsigned long long)ns);
  return 0;
}
