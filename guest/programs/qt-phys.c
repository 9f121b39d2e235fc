/* qt-phys N: physical addresses across a mapping change inside one ROI.
 * Region A (N pages) and region B (N pages) are mapped and touched. Inside
 * ROI id 1: pass 1 loads one word per page of A; then B is moved onto A's
 * addresses with mremap (the kernel unmaps A's frames and flushes the TLB);
 * pass 2 loads the same virtual addresses again, now backed by B's frames.
 * Both frame lists come from /proc/self/pagemap and are printed after the
 * ROI, one line per page:
 *   qt-phys: pass=P vaddr=0x... paddr=0x...
 * with the code range of each pass's loop (p1_begin/p1_end, p2_begin/p2_end).
 * A tracer that kept pass-1 translations would report A's frames in pass 2. */
#include "qt-common.h" /* first: it defines _GNU_SOURCE (mremap) */

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

extern const char qt_phys_p1_begin[], qt_phys_p1_end[], qt_phys_p2_begin[], qt_phys_p2_end[];

#if defined(__aarch64__)
#define QT_PHYS_BODY_ "1:\n\tldr %[t], [%[p]]\n\tadd %[acc], %[acc], %[t]\n\t" \
                      "add %[p], %[p], #4096\n\tsubs %w[n], %w[n], #1\n\tb.ne 1b\n"
#else
#define QT_PHYS_BODY_ "1:\n\tmov (%[p]), %[t]\n\tadd %[t], %[acc]\n\t" \
                      "add $4096, %[p]\n\tdec %[n]\n\tjnz 1b\n"
#endif
#define QT_PHYS_WALK(FN, LABEL)                                                   \
  __attribute__((noinline, noclone)) static uintptr_t FN(const char *p, unsigned n) { \
    uintptr_t acc = 0, t;                                                         \
    __asm__ __volatile__(".globl " LABEL "_begin\n" LABEL "_begin:\n\t"           \
                         QT_PHYS_BODY_                                            \
                         ".globl " LABEL "_end\n" LABEL "_end:\n\t"               \
                         : [acc] "+r"(acc), [p] "+r"(p), [t] "=&r"(t), [n] "+r"(n) \
                         :                                                        \
                         : "cc", "memory");                                       \
    return acc;                                                                   \
  }
QT_PHYS_WALK(walk1, "qt_phys_p1")
QT_PHYS_WALK(walk2, "qt_phys_p2")

/* Physical frame addresses of n pages at base; 0 if not available. */
static int frames(const char *base, unsigned n, uint64_t *out) {
  int fd = open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) return -1;
  for (unsigned i = 0; i < n; i++) {
    uint64_t e = 0;
    off_t at = (off_t)(((uintptr_t)base / 4096 + i) * sizeof e);
    if (pread(fd, &e, sizeof e, at) != (ssize_t)sizeof e || !(e >> 63)) { close(fd); return -1; }
    out[i] = (e & ((1ull << 55) - 1)) * 4096;
  }
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 64, "qt-phys", "N");
  if (n == 0 || n > 4096) { fprintf(stderr, "qt-phys: need 1 <= N <= 4096\n"); return 2; }
  size_t bytes = n * 4096;
  char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED || b == MAP_FAILED) { perror("qt-phys: mmap"); return 1; }
  for (size_t i = 0; i < bytes; i += 64) { a[i] = 1; b[i] = 2; }
  uint64_t *f1 = calloc(n, sizeof *f1), *f2 = calloc(n, sizeof *f2);
  if (!f1 || !f2 || frames(a, (unsigned)n, f1)) {
    fprintf(stderr, "qt-phys: cannot read /proc/self/pagemap (root needed)\n");
    return 1;
  }
  qemutrace_start(1);
  uintptr_t s1 = walk1(a, (unsigned)n);
  char *moved = mremap(b, bytes, bytes, MREMAP_MAYMOVE | MREMAP_FIXED, a);
  uintptr_t s2 = moved == a ? walk2(a, (unsigned)n) : 0;
  qemutrace_stop(1);
  if (moved != a) { perror("qt-phys: mremap"); return 1; }
  if (frames(a, (unsigned)n, f2)) { fprintf(stderr, "qt-phys: pagemap after mremap failed\n"); return 1; }
  printf("qt-phys: pages=%lu p1_begin=%p p1_end=%p p2_begin=%p p2_end=%p sums=%lu,%lu\n", n,
         (const void *)qt_phys_p1_begin, (const void *)qt_phys_p1_end,
         (const void *)qt_phys_p2_begin, (const void *)qt_phys_p2_end, (unsigned long)s1,
         (unsigned long)s2);
  for (unsigned long i = 0; i < n; i++) {
    printf("qt-phys: pass=1 vaddr=%p paddr=0x%llx\n", (void *)(a + i * 4096), (unsigned long long)f1[i]);
    printf("qt-phys: pass=2 vaddr=%p paddr=0x%llx\n", (void *)(a + i * 4096), (unsigned long long)f2[i]);
  }
  return 0;
}
