/* qt-syscall N: ROI id 1 around N getppid() system calls issued with a raw
 * syscall instruction (svc #0 on aarch64), so kernel (CPL 0, EL1) instructions must appear in it. */
#include "qt-common.h"
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) static long do_getppid(void) {
  long r;
#if defined(__x86_64__)
  __asm__ __volatile__("syscall" : "=a"(r) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long nr __asm__("x8") = SYS_getppid;
  register long x0 __asm__("x0");
  __asm__ __volatile__("svc #0" : "=r"(x0) : "r"(nr) : "memory");
  r = x0;
#else
  __asm__ __volatile__("int $0x80" : "=a"(r) : "0"((long)SYS_getppid) : "memory");
#endif
  return r;
}

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 100, "qt-syscall", "N");
  long last = 0;
  qemutrace_start(1);
  for (unsigned long i = 0; i < n; i++) last = do_getppid();
  qemutrace_stop(1);
  printf("qt-syscall: id=1 n=%lu syscall=getppid nr=%d ppid=%ld ok=%d\n", n, (int)SYS_getppid,
         last, last == (long)getppid());
  return last == (long)getppid() ? 0 : 1;
}
