/* qt-loop N: ROI id 1 around a loop of exactly 1+4N instructions. */
#include "qt-common.h"

QT_DEFINE_LOOP(qt_loop_roi, QEMUTRACE_START_ASM(1), QEMUTRACE_STOP_ASM(1))

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 1000, "qt-loop", "N");
  if (n > 0xffffffffu) { fprintf(stderr, "qt-loop: N must fit in 32 bits\n"); return 2; }
  unsigned acc = qt_loop_roi((unsigned)n);
  printf("qt-loop: id=1 n=%lu roi_pc_begin=%p roi_pc_end=%p expected_insns=%llu acc=%u\n", n,
         (const void *)qt_loop_roi_begin, (const void *)qt_loop_roi_end, QT_LOOP_INSNS(n), acc);
  return 0;
}
