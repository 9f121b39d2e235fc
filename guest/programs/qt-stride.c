/* qt-stride N STRIDE: ROI id 1 around N pointer-sized loads at
 * base + i*STRIDE (i = 0..N-1), and no other data access.  The loop is
 *   mov n,%ecx ; 1: mov (p),t ; add t,acc ; add stride,p ; dec %ecx ; jnz 1b
 * (aarch64: mov w9,n ; 1: ldr t,[p] ; add ; add ; subs w9,w9,#1 ; b.ne 1b)
 * = 1 + 5N instructions in [roi_pc_begin, roi_pc_end).  Pages are touched
 * before the ROI so no load faults inside it. */
#include "qt-common.h"

extern const char qt_stride_begin[], qt_stride_end[];

__attribute__((noinline, noclone)) static uintptr_t walk(const char *base, unsigned n,
                                                         uintptr_t stride) {
  uintptr_t acc = 0, t;
  const char *p = base;
#if defined(__aarch64__)
  __asm__ __volatile__(QEMUTRACE_START_ASM(1)
                       ".globl qt_stride_begin\nqt_stride_begin:\n\t"
                       "mov w9, %w[n]\n"
                       "1:\n\t"
                       "ldr %[t], [%[p]]\n\t"
                       "add %[acc], %[acc], %[t]\n\t"
                       "add %[p], %[p], %[s]\n\t"
                       "subs w9, w9, #1\n\t"
                       "b.ne 1b\n"
                       ".globl qt_stride_end\nqt_stride_end:\n\t" QEMUTRACE_STOP_ASM(1)
                       : [acc] "+r"(acc), [p] "+r"(p), [t] "=&r"(t)
                       : [n] "r"(n), [s] "r"(stride)
                       : "x9", "cc", "memory");
#else
  __asm__ __volatile__(QEMUTRACE_START_ASM(1)
                       ".globl qt_stride_begin\nqt_stride_begin:\n\t"
                       "mov %[n], %%ecx\n"
                       "1:\n\t"
                       "mov (%[p]), %[t]\n\t"
                       "add %[t], %[acc]\n\t"
                       "add %[s], %[p]\n\t"
                       "dec %%ecx\n\t"
                       "jnz 1b\n"
                       ".globl qt_stride_end\nqt_stride_end:\n\t" QEMUTRACE_STOP_ASM(1)
                       : [acc] "+r"(acc), [p] "+r"(p), [t] "=&r"(t)
                       : [n] "r"(n), [s] "r"(stride)
                       : "ecx", "cc", "memory");
#endif
  return acc;
}

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 64, "qt-stride", "N");
  unsigned long stride = qt_arg(argc, argv, 2, 64, "qt-stride", "STRIDE");
  if (n > 1000000 || stride > (1ul << 20) || stride < sizeof(uintptr_t)) {
    fprintf(stderr, "qt-stride: need N <= 1000000 and %zu <= STRIDE <= 1048576\n",
            sizeof(uintptr_t));
    return 2;
  }
  size_t bytes = n * stride;
  char *base = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);
  if (!base) { fprintf(stderr, "qt-stride: cannot allocate %zu bytes\n", bytes); return 1; }
  for (size_t i = 0; i < bytes; i++) base[i] = (char)i;  /* prefault */
  uintptr_t acc = walk(base, (unsigned)n, stride);
  printf("qt-stride: id=1 base=%p stride=%lu count=%lu load_size=%zu first=%p last=%p "
         "roi_pc_begin=%p roi_pc_end=%p expected_insns=%lu expected_loads=%lu acc=%lu\n",
         (void *)base, stride, n, sizeof(uintptr_t), (void *)base,
         (void *)(base + (n - 1) * stride), (const void *)qt_stride_begin,
         (const void *)qt_stride_end, 1 + 5 * n, n, (unsigned long)acc);
  /* The full list for small runs, so a test can diff sets directly. */
  if (n <= 4096)
    for (unsigned long i = 0; i < n; i++) printf("qt-stride: load %p\n", (void *)(base + i * stride));
  return 0;
}
