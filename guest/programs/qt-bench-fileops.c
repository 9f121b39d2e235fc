/* qt-bench-fileops [FILES] [DIR]: FILES (default 5000,
 * ~43 K guest instructions per file on x86_64, so ~220 M) rounds of
 * create/write/close/open/read/close/unlink of a small file in DIR (default
 * /tmp); kernel-heavy.  ROI id 1. */
#include "qt-common.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  unsigned long files = qt_arg(argc, argv, 1, 5000, "qt-bench-fileops", "FILES");
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  char path[4096], buf[256], in[256];
  memset(buf, 'q', sizeof buf);
  uint64_t t0 = qt_now_ns();
  qemutrace_start(1);
  for (unsigned long i = 0; i < files; i++) {
    snprintf(path, sizeof path, "%s/qt-fileops-%lu", dir, i % 64);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) goto fail;
    close(fd);
    fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, in, sizeof in) != (ssize_t)sizeof in) goto fail;
    close(fd);
    if (unlink(path) != 0) goto fail;
  }
  qemutrace_stop(1);
  uint64_t ns = qt_now_ns() - t0;
  printf("qt-bench-fileops: files=%lu dir=%s roi_ns=%llu\n", files, dir, (unsigned long long)ns);
  return 0;
fail:
  qemutrace_stop(1);
  fprintf(stderr, "qt-bench-fileops: file operation on %s failed: %s\n", path, strerror(errno));
  return 1;
}
