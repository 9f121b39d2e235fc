/* qt-roi NAME SETUP CMD [NAME SETUP CMD ...]: for each triple, runs
 * `sh -c SETUP` (outside the ROI: input data is made there), then `sh -c CMD`
 * between the NOP START/STOP markers (id 1), and prints
 * "qt-roi: name=NAME roi_ns=T" with T the guest CLOCK_MONOTONIC
 * time between the markers, like guest/programs' own workloads; before the
 * START marker it prints "qt-roi: begin name=NAME". Lets the
 * bench time programs we did not write (busybox applets) exactly as it times
 * ours. Several triples share one boot (each its own ROI); the first failing
 * one ends the run with rc 1. Built static by bench/guest/bench.py. */
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

static int run_sh(const char *cmd) {
  pid_t p = fork();
  if (p < 0) {
    perror("qt-roi: fork");
    return -1;
  }
  if (p == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)0);
    perror("qt-roi: exec /bin/sh");
    _exit(127);
  }
  int st;
  if (waitpid(p, &st, 0) < 0) {
    perror("qt-roi: waitpid");
    return -1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int one(const char *name, const char *setup, const char *cmd) {
  int rc = run_sh(setup);
  if (rc != 0) {
    fprintf(stderr, "qt-roi: setup of %s failed (rc=%d)\n", name, rc);
    return 1;
  }
  /* A profiler on the host may start sampling at this line. */
  printf("qt-roi: begin name=%s\n", name);
  fflush(stdout);
  unsigned long long t0 = now_ns();
  qemutrace_start(1);
  rc = run_sh(cmd);
  qemutrace_stop(1);
  unsigned long long ns = now_ns() - t0;
  if (rc != 0) {
    fprintf(stderr, "qt-roi: %s failed (rc=%d)\n", name, rc);
    return 1;
  }
  printf("qt-roi: name=%s roi_ns=%llu\n", name, ns);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4 || (argc - 1) % 3 != 0) {
    fprintf(stderr, "usage: qt-roi NAME SETUP CMD [NAME SETUP CMD ...]\n");
    return 2;
  }
  for (int i = 1; i + 2 < argc; i += 3)
    if (one(argv[i], argv[i + 1], argv[i + 2]) != 0) return 1;
  return 0;
}
