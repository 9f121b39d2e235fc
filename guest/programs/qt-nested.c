/* qt-nested N P: a level-1 hypervisor in a few hundred lines.  Runs, through
 * /dev/kvm (kvm_amd on the guest's emulated SVM), a level-2 guest whose code
 * is the asm below: between ROI markers (id 3) a loop of N iterations of
 *     add %ecx,%eax ; dec %ecx ; jnz            (3N instructions)
 * then P iterations of
 *     out %al,$0xe9 ; dec %edx ; jnz           (each OUT exits to level 1)
 * then `hlt`, which ends the run.  Level 2 runs in 64-bit long mode, the
 * mode of every other instruction of an x86_64 trace, so the trace's one
 * decoding mode fits it too (real mode would need 16-bit decoding).
 *
 * If /dev/kvm is missing, loads irqbypass, kvm and kvm-amd from
 * /lib/modules/qemutrace (the built-in guest's nested.cpio).  Pins itself to
 * CPU 0 so that level 1's share of each exit is on one core.
 * qt-arch: x86_64 (AMD SVM under TCG; the level-2 code is 64-bit) */
#include "qt-common.h"
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define L2_MEM_SIZE 0x200000ul /* one 2 MiB page, identity mapped */
#define L2_PML4 0x1000ul
#define L2_PDPT 0x2000ul
#define L2_PD 0x3000ul
#define L2_CODE 0x10000ul
#define L2_STACK 0x1ff000ul
#define L2_PORT 0xe9

/* The level-2 code, copied to L2_CODE; position independent. */
extern const unsigned char nested_l2_code[], nested_l2_loop[], nested_l2_loop_end[], nested_l2_end[];
__asm__(".pushsection .rodata.nested_l2,\"a\"\n"
        ".globl nested_l2_code, nested_l2_loop, nested_l2_loop_end, nested_l2_end\n"
        "nested_l2_code:\n\t" QEMUTRACE_START_ASM(3)
        "nested_l2_loop:\n"
        "1:\n\t"
        "add %ecx, %eax\n\t"
        "dec %ecx\n\t"
        "jnz 1b\n"
        "nested_l2_loop_end:\n"
        "2:\n\t"
        "out %al, $0xe9\n\t"
        "dec %edx\n\t"
        "jnz 2b\n\t" QEMUTRACE_STOP_ASM(3)
        "hlt\n"
        "nested_l2_end:\n"
        ".popsection\n");

static void die(const char *what) {
  fprintf(stderr, "qt-nested: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void load_module(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "/lib/modules/qemutrace/%s.ko", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "qt-nested: /dev/kvm is missing and %s cannot be opened: %s (run with qemutrace run --nested)\n",
            path, strerror(errno));
    exit(1);
  }
  if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
    fprintf(stderr, "qt-nested: loading %s failed: %s (the kernel log says why)\n", name, strerror(errno));
    exit(1);
  }
  close(fd);
}

static void set_segment(struct kvm_segment *s, unsigned selector, unsigned type, int code) {
  memset(s, 0, sizeof *s);
  s->base = 0;
  s->limit = 0xffffffff;
  s->selector = selector;
  s->type = type;
  s->present = 1;
  s->s = 1;
  s->g = 1;
  s->l = code;   /* 64-bit code segment */
  s->db = !code; /* L and D may not both be set */
}

int main(int argc, char **argv) {
  unsigned long n = qt_arg(argc, argv, 1, 1000, "qt-nested", "N");
  unsigned long p = qt_arg(argc, argv, 2, 4, "qt-nested", "P");
  if (n > 0xffffffffu || p > 0xffffffffu) {
    fprintf(stderr, "qt-nested: N and P must fit in 32 bits\n");
    return 2;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("pinning to CPU 0");

  if (access("/dev/kvm", F_OK) != 0) {
    load_module("irqbypass");
    load_module("kvm");
    load_module("kvm-amd");
  }
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("opening /dev/kvm (did kvm_amd load? the kernel log says)");
  if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    fprintf(stderr, "qt-nested: unexpected KVM API version\n");
    return 1;
  }
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) die("KVM_CREATE_VM");
  unsigned char *mem = mmap(NULL, L2_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap of level-2 memory");
  struct kvm_userspace_memory_region region = {
      .slot = 0, .guest_phys_addr = 0, .memory_size = L2_MEM_SIZE, .userspace_addr = (uintptr_t)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");

  size_t code_len = (size_t)(nested_l2_end - nested_l2_code);
  memcpy(mem + L2_CODE, nested_l2_code, code_len);
  uint64_t *pml4 = (uint64_t *)(mem + L2_PML4), *pdpt = (uint64_t *)(mem + L2_PDPT),
           *pd = (uint64_t *)(mem + L2_PD);
  pml4[0] = L2_PDPT | 3;  /* present, writable */
  pdpt[0] = L2_PD | 3;
  pd[0] = 0 | 0x83;       /* present, writable, 2 MiB page */

  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (vcpu < 0) die("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) die("KVM_GET_VCPU_MMAP_SIZE");
  struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap of kvm_run");

  struct kvm_sregs sregs;
  if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
  set_segment(&sregs.cs, 8, 11, 1);
  set_segment(&sregs.ds, 16, 3, 0);
  sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
  sregs.cr3 = L2_PML4;
  sregs.cr4 = 1u << 5;                     /* PAE */
  sregs.cr0 = 0x80050033u;                 /* PG WP AM NE ET MP PE */
  sregs.efer = (1u << 8) | (1u << 10);     /* LME LMA */
  if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
  struct kvm_regs regs;
  memset(&regs, 0, sizeof regs);
  regs.rip = L2_CODE;
  regs.rsp = L2_STACK;
  regs.rflags = 2;
  regs.rcx = n;
  regs.rdx = p;
  if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

  unsigned long io_exits = 0, runs = 0;
  for (;;) {
    ++runs;
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR) continue;
      die("KVM_RUN");
    }
    if (run->exit_reason == KVM_EXIT_HLT) break;
    if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == L2_PORT &&
        run->io.size == 1 && run->io.count == 1) {
      ++io_exits;
      continue;
    }
    fprintf(stderr, "qt-nested: unexpected exit from level 2: reason %u\n", run->exit_reason);
    return 1;
  }
  if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0) die("KVM_GET_REGS");
  /* The level-2 code's own PCs: its ROI is [loop, hlt) less the STOP marker. */
  unsigned long loop = L2_CODE + (unsigned long)(nested_l2_loop - nested_l2_code);
  unsigned long loop_end = L2_CODE + (unsigned long)(nested_l2_loop_end - nested_l2_code);
  printf("qt-nested: id=3 n=%lu p=%lu io_exits=%lu kvm_runs=%lu l2_code_begin=%#lx l2_code_end=%#lx "
         "l2_loop_begin=%#lx l2_loop_end=%#lx l2_loop_insns=%lu l2_rip_at_hlt=%#llx cpu=%d\n",
         n, p, io_exits, runs, L2_CODE, L2_CODE + code_len, loop, loop_end, 3 * n,
         (unsigned long long)regs.rip, sched_getcpu());
  return io_exits == p ? 0 : 1;
}
