/* qt-faulting-branch PAGES: ROI id 1 around PAGES executions of a conditional
 * branch that is never taken and whose fall-through is a load from a page not
 * yet touched. Each load page-faults, so the kernel runs between the branch
 * and the load: the trace's successor of the branch is the fault handler, with
 * a DISCONTINUITY marker before it. Then a rep movsb and a rep stosq, whose
 * Tejas text needs their implicit operands. Prints the branch's PC. Built by
 * tests/e2e/simulators.sh (not part of the guest image). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "qemutrace.h"

extern const char qt_branch_pc[];
static char src[256] = "qemutrace", dst[256];
static unsigned long words[32];

int main(int argc, char **argv) {
  unsigned long pages = argc > 1 ? strtoul(argv[1], 0, 0) : 64;
  char *mem = mmap(0, pages * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) { perror("mmap"); return 1; }
  unsigned long sum = 0;
  char *d = dst;
  const char *s = src;
  unsigned long *w = words, bytes = 200, nwords = 32;
  qemutrace_start(1);
  for (unsigned long i = 0; i < pages; i++) {
    const char *p = mem + i * 4096;
    unsigned long v;
    /* rdi = p is never 0: jz is never taken; the load right after it faults. */
    __asm__ __volatile__("test %1, %1\n"
                         ".globl qt_branch_pc\n"
                         "qt_branch_pc:\n"
                         "jz 1f\n"
                         "movzbq (%1), %0\n"
                         "1:\n"
                         : "=&r"(v) : "D"(p) : "cc", "memory");
    sum += v;
  }
  __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
  __asm__ __volatile__("rep stosq" : "+D"(w), "+c"(nwords) : "a"(sum) : "memory");
  qemutrace_stop(1);
  printf("qt-faulting-branch: pages=%lu branch_pc=%p sum=%lu dst=%s\n", pages, (const void *)qt_branch_pc,
         sum, dst);
  return 0;
}
