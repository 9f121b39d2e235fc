/* Shared helpers for the guest test programs.  The ROI bodies are single asm
 * blocks so the instruction count between the markers is known exactly. */
#ifndef QT_COMMON_H
#define QT_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../qemutrace.h"

static inline uint64_t qt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parses a positive decimal argument or exits with one clear line. */
static inline unsigned long qt_arg(int argc, char **argv, int i, unsigned long def,
                                   const char *prog, const char *what) {
  if (argc <= i) return def;
  char *end;
  errno = 0;
  unsigned long v = strtoul(argv[i], &end, 0);
  if (errno || *end || end == argv[i] || v == 0) {
    fprintf(stderr, "%s: %s must be a positive integer, got '%s'\n", prog, what, argv[i]);
    exit(2);
  }
  return v;
}

/* Defines `unsigned FN(unsigned n)` running, between START_ASM and STOP_ASM,
 *   x86:     mov n,%ecx ; 1: add %ecx,acc ; xor $0x5a5a,acc ; dec %ecx ; jnz 1b
 *   aarch64: mov w9,n   ; 1: add acc,acc,w9 ; eor acc,acc,#0xff00 ; subs w9,w9,#1 ; b.ne 1b
 * = 1 + 4n instructions, all with PC in [FN_begin, FN_end).  The markers lie
 * outside that range.  noinline/noclone keep the global labels unique. */
#if defined(__aarch64__)
#define QT_LOOP_BODY_ "mov w9, %w1\n"                                        \
                      "1:\n\t"                                              \
                      "add %w0, %w0, w9\n\t"                                \
                      "eor %w0, %w0, #0xff00\n\t"                           \
                      "subs w9, w9, #1\n\t"                                 \
                      "b.ne 1b\n"
#define QT_LOOP_CLOBBER_ "x9"
#else
#define QT_LOOP_BODY_ "mov %1, %%ecx\n"                                      \
                      "1:\n\t"                                              \
                      "add %%ecx, %0\n\t"                                   \
                      "xor $0x5a5a, %0\n\t"                                 \
                      "dec %%ecx\n\t"                                       \
                      "jnz 1b\n"
#define QT_LOOP_CLOBBER_ "ecx"
#endif
#define QT_DEFINE_LOOP(FN, START_ASM, STOP_ASM)                               \
  extern const char FN##_begin[], FN##_end[];                                 \
  __attribute__((noinline, noclone)) static unsigned FN(unsigned n) {         \
    unsigned acc = 0;                                                         \
    __asm__ __volatile__(START_ASM                                            \
                         ".globl " #FN "_begin\n" #FN "_begin:\n\t"          \
                         QT_LOOP_BODY_                                        \
                         ".globl " #FN "_end\n" #FN "_end:\n\t" STOP_ASM     \
                         : "+r"(acc)                                          \
                         : "r"(n)                                             \
                         : QT_LOOP_CLOBBER_, "cc", "memory");                 \
    return acc;                                                               \
  }

#define QT_LOOP_INSNS(n) (1ull + 4ull * (unsigned long long)(n))
#endif
