/* qt-par N PROG [ARGS...]: runs N copies of PROG in parallel inside one ROI
 * marked with the legacy markers (int $100 / int $101), so that the copies'
 * own NOP markers can be ignored (plugin option markers=int) and the ROI is
 * the whole parallel section. Prints "qt-par: copies=N roi_ns=T".
 * Built by bench/guest/bench.py (static, x86_64); runs under
 * qemutrace-guest-run, which makes the legacy markers harmless. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qemutrace.h"

static unsigned long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: qt-par N PROG [ARGS...]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  int status = 0;
  unsigned long long t0 = now_ns();
  qemutrace_legacy_start();
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p < 0) { perror("fork"); return 1; }
    if (p == 0) {
      execvp(argv[2], argv + 2);
      perror("execvp");
      _exit(127);
    }
  }
  for (int i = 0; i < n; i++) {
    int st;
    if (wait(&st) < 0) { perror("wait"); return 1; }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) status = 1;
  }
  qemutrace_legacy_stop();
  unsigned long long ns = now_ns() - t0;
  printf("qt-par: copies=%d roi_ns=%llu\n", n, ns);
  return status;
}
