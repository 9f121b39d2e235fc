/* qemutrace-guest-run PROG [ARGS...]
 *
 * Runs PROG under ptrace so that the legacy ROI markers `int $100` (CD 64) and
 * `int $101` (CD 65) do not kill it: in a Linux user process they raise a #GP,
 * delivered as SIGSEGV (si_code SI_KERNEL) with the IP at the `int`.  We skip
 * the 2-byte instruction and resume without the signal.  Every other signal is
 * passed through.  All threads, forks, vforks and execs are followed.
 * Exit status: PROG's, or 128+signal if it was killed.
 */
#define _GNU_SOURCE
#if !defined(__x86_64__) && !defined(__i386__)
/* Other ISAs have no legacy markers: run PROG as it is, so the guest's /init
 * protocol (every workload under qemutrace-guest-run) stays the same. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: qemutrace-guest-run PROG [ARGS...]\n"); return 2; }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "qemutrace-guest-run: cannot run %s: %s\n", argv[1], strerror(errno));
  return 127;
}
#else
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemutrace.h"

#ifdef __x86_64__
#define IP_REG rip
#define SP_REG rsp
#elif defined(__i386__)
#define IP_REG eip
#define SP_REG esp
#endif

#ifndef SI_KERNEL
#define SI_KERNEL 0x80
#endif

static pid_t child = -1;

/* Forward termination requests so PROG can clean up, instead of being killed
 * by PTRACE_O_EXITKILL when we die. */
static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

/* True when the tracee stopped with SIGSEGV raised by the CPU at a CD 64/65. */
static int is_legacy_marker(pid_t pid, struct user_regs_struct *regs) {
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) != 0) return 0;
  if (si.si_code != SI_KERNEL) return 0; /* kill()/tgkill(), not the CPU */
  if (ptrace(PTRACE_GETREGS, pid, 0, regs) != 0) return 0;
  errno = 0;
  long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(unsigned long)regs->IP_REG, 0);
  if (errno) return 0;
  unsigned char b[sizeof word];
  memcpy(b, &word, sizeof word);
  return b[0] == 0xcd && (b[1] == 0x64 || b[1] == 0x65);
}

/* The marker just stepped over (IP already moved past it) was `int $100`. */
static int is_start_marker(pid_t pid, struct user_regs_struct *regs) {
  errno = 0;
  long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(unsigned long)(regs->IP_REG - 2), 0);
  return !errno && (word & 0xffff) == 0x64cd;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: qemutrace-guest-run PROG [ARGS...]\n");
    return 2;
  }
  /* The child waits on this pipe until it is seized, so no event is missed. */
  int gate[2];
  if (pipe(gate) != 0) { perror("qemutrace-guest-run: pipe"); return 127; }
  child = fork();
  if (child < 0) { perror("qemutrace-guest-run: fork"); return 127; }
  if (child == 0) {
    char c;
    close(gate[1]);
    while (read(gate[0], &c, 1) < 0 && errno == EINTR) {}
    close(gate[0]);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "qemutrace-guest-run: cannot run %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  close(gate[0]);
  long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
              PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SEIZE, child, 0, (void *)opts) != 0) {
    fprintf(stderr, "qemutrace-guest-run: ptrace(PTRACE_SEIZE) failed: %s\n", strerror(errno));
    kill(child, SIGKILL);
    return 127;
  }
  close(gate[1]); /* release the child */

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);

  int result = 127;
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break; /* no children or tracees left */
      perror("qemutrace-guest-run: waitpid");
      return 127;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (pid == child) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    int event = (unsigned)status >> 16;
    if (event == PTRACE_EVENT_STOP) {
      /* Group-stop: keep it stopped until SIGCONT without swallowing it.
       * Otherwise it is the initial stop of a new tracee (SIGTRAP). */
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
        ptrace(PTRACE_LISTEN, pid, 0, 0);
      else
        ptrace(PTRACE_CONT, pid, 0, 0);
      continue;
    }
    if (event != 0) { /* clone/fork/vfork/exec notifications */
      ptrace(PTRACE_CONT, pid, 0, 0);
      continue;
    }
    /* Signal-delivery-stop. */
    struct user_regs_struct regs;
    if (sig == SIGSEGV && is_legacy_marker(pid, &regs)) {
      regs.IP_REG += 2;
      if (ptrace(PTRACE_SETREGS, pid, 0, &regs) == 0) {
        /* Only a confirmed return point starts tracing (qemutrace.h). */
        if (is_start_marker(pid, &regs)) qemutrace_legacy_confirm(regs.IP_REG, regs.SP_REG);
        ptrace(PTRACE_CONT, pid, 0, 0);
        continue;
      }
    }
    ptrace(PTRACE_CONT, pid, 0, (void *)(long)sig);
  }
  return result;
}
#endif /* x86 */
