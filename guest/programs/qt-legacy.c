/* qt-legacy N: the qt-loop body with the legacy int $100/$101 markers.
 * Natively it dies of SIGSEGV unless run under qemutrace-guest-run.
 * qt-arch: x86_64 i386 (int $100/$101 exist on x86 only) */
#include "qt-common.h"

QT_DEFINE_LOOP(qt_legacy_roi, QEMUTRACE_LEGACY_START_ASM, QEMUTRACE_LEGACY_STOP_ASM)

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 1000, "qt-legacy", "N");
  if (n > 0xffffffffu) { fprintf(stderr, "qt-legacy: N must fit in 32 bits\n"); return 2; }
  unsigned acc = qt_legacy_roi((unsigned)n);
  printf("qt-legacy: n=%lu roi_pc_begin=%p roi_pc_end=%p expected_insns=%llu acc=%u\n", n,
         (const void *)qt_legacy_roi_begin, (const void *)qt_legacy_roi_end, QT_LOOP_INSNS(n), acc);
  return 0;
}
