/* qt-pinned N: a second thread pinned to CPU 1 runs the qt-loop body under
 * ROI id 2 (1+4N instructions); prints the CPU it ran on before and after. */
#include "qt-common.h"
#include <pthread.h>
#include <sched.h>

QT_DEFINE_LOOP(qt_pinned_roi, QEMUTRACE_START_ASM(2), QEMUTRACE_STOP_ASM(2))

static unsigned long n;
static int cpu_before = -1, cpu_after = -1, pin_err;
static unsigned acc;

static void *worker(void *arg) {
  (void)arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(1, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) { pin_err = errno; return NULL; }
  cpu_before = sched_getcpu();
  acc = qt_pinned_roi((unsigned)n);
  cpu_after = sched_getcpu();
  return NULL;
}

int main(int argc, char **argv) {
  n = qt_arg(argc, argv, 1, 1000, "qt-pinned", "N");
  if (n > 0xffffffffu) { fprintf(stderr, "qt-pinned: N must fit in 32 bits\n"); return 2; }
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL) != 0) { fprintf(stderr, "qt-pinned: pthread_create failed\n"); return 1; }
  pthread_join(t, NULL);
  if (pin_err) { fprintf(stderr, "qt-pinned: cannot pin to CPU 1: %s (need 2 CPUs)\n", strerror(pin_err)); return 1; }
  printf("qt-pinned: id=2 n=%lu cpu=%d cpu_after=%d roi_pc_begin=%p roi_pc_end=%p expected_insns=%llu acc=%u\n",
         n, cpu_before, cpu_after, (const void *)qt_pinned_roi_begin, (const void *)qt_pinned_roi_end,
         QT_LOOP_INSNS(n), acc);
  return cpu_before == 1 && cpu_after == 1 ? 0 : 1;
}
