/* qt-stale die | qt-stale jump | qt-stale N
 * The qt-loop body behind a legacy `int $100` / `int $101` pair.
 * die: runs it marked, without qemutrace-guest-run: dies of SIGSEGV at the
 *      `int $100`, so its return point never resumes.
 * jump: the same in one process that lives on: its SIGSEGV handler jumps
 *      away instead of stepping past the int, then the process walks the
 *      return point unmarked (same address space, same address).
 * N:   first walks the same code unmarked (1000 iterations, jumping straight
 *      to the int's return point), then runs it marked with N iterations.
 *      Under qemutrace-guest-run only the marked run is traced: 1+4N.
 * qt-arch: x86_64 i386 (int $100/$101 exist on x86 only) */
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "qt-common.h"

extern const char qt_stale_begin[], qt_stale_end[];

__attribute__((noinline, noclone)) static unsigned region(unsigned n, int mark) {
  unsigned acc = 0;
  __asm__ __volatile__("test %2, %2\n\t"
                       "jz 2f\n\t"
                       "int $100\n"
                       "2:\n"  /* the int's return point */
                       ".globl qt_stale_begin\nqt_stale_begin:\n\t"
                       "mov %1, %%ecx\n"
                       "1:\n\t"
                       "add %%ecx, %0\n\t"
                       "xor $0x5a5a, %0\n\t"
                       "dec %%ecx\n\t"
                       "jnz 1b\n"
                       ".globl qt_stale_end\nqt_stale_end:\n\t"
                       "test %2, %2\n\t"
                       "jz 3f\n\t"
                       "int $101\n"
                       "3:\n"
                       : "+r"(acc)
                       : "r"(n), "r"(mark)
                       : "ecx", "cc", "memory");
  return acc;
}

static sigjmp_buf away;
static void leave(int sig) {
  (void)sig;
  siglongjmp(away, 1);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "jump")) {
    signal(SIGSEGV, leave);
    if (!sigsetjmp(away, 1)) region(1, 1); /* never resumes after the int */
    printf("qt-stale: jumped away, walking acc=%u\n", region(1000, 0));
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "die")) {
    fflush(stdout);
    return (int)region(1, 1); /* SIGSEGV without the helper */
  }
  unsigned long n = qt_arg(argc, argv, 1, 1000, "qt-stale", "N");
  if (n > 0xffffffffu) { fprintf(stderr, "qt-stale: N must fit in 32 bits\n"); return 2; }
  unsigned acc = region(1000, 0);
  acc += region((unsigned)n, 1);
  printf("qt-stale: n=%lu roi_pc_begin=%p roi_pc_end=%p expected_insns=%llu acc=%u\n", n,
         (const void *)qt_stale_begin, (const void *)qt_stale_end, QT_LOOP_INSNS(n), acc);
  return 0;
}
