/* qt-demo [SCALE]: the demo workload.  ROI id 1 (started by the main thread)
 * covers two threads, each doing a compute phase (integer hashing) and a
 * memory phase (passes over a private 4 MiB array); ~100 M instructions at
 * SCALE=1.  Each thread prints its own elapsed ROI time. */
#include "qt-common.h"
#include <pthread.h>

#define WORDS (1u << 20) /* 4 MiB of uint32_t per thread */

static unsigned long scale;

struct job { int id; uint32_t result; uint64_t ns; uint32_t *buf; };

static uint32_t compute(uint32_t seed, unsigned long iters) {
  uint32_t x = seed | 1, h = 2166136261u;
  for (unsigned long i = 0; i < iters; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    h = (h ^ x) * 16777619u;
  }
  return h;
}

static uint32_t memory(uint32_t *a, unsigned passes) {
  uint32_t s = 0;
  for (unsigned p = 0; p < passes; p++)
    for (uint32_t i = 0; i < WORDS; i += 4) { /* one load+store per 16 bytes */
      s += a[i];
      a[(i * 2654435761u) & (WORDS - 1)] = s; /* scattered stores */
    }
  return s;
}

static void *worker(void *arg) {
  struct job *j = arg;
  uint64_t t0 = qt_now_ns();
  uint32_t r = compute(0x9e3779b9u * (uint32_t)(j->id + 1), 3000000ul * scale);
  r ^= memory(j->buf, 4 * (unsigned)scale);
  j->result = r;
  j->ns = qt_now_ns() - t0;
  printf("qt-demo: thread=%d roi_ns=%llu result=%08x\n", j->id, (unsigned long long)j->ns, r);
  return NULL;
}

int main(int argc, char **argv) {
  scale = qt_arg(argc, argv, 1, 1, "qt-demo", "SCALE");
  struct job jobs[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    jobs[i].id = i;
    jobs[i].buf = calloc(WORDS, sizeof(uint32_t));
    if (!jobs[i].buf) { fprintf(stderr, "qt-demo: out of memory\n"); return 1; }
    memset(jobs[i].buf, i + 1, WORDS * sizeof(uint32_t)); /* fault pages in before the ROI */
  }
  uint64_t t0 = qt_now_ns();
  qemutrace_start(1);
  for (int i = 0; i < 2; i++)
    if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) { fprintf(stderr, "qt-demo: pthread_create failed\n"); return 1; }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  qemutrace_stop(1);
  uint64_t total = qt_now_ns() - t0;
  printf("qt-demo: threads=2 scale=%lu roi_ns=%llu result=%08x\n", scale,
         (unsigned long long)total, jobs[0].result ^ jobs[1].result);
  return 0;
}
