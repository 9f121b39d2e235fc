/* bench/guest/floor-plugin.c: the instrumentation floor of a tracer, for
 * attributing qemutrace's cost. Same callbacks as qemutrace's "on" mode but
 * they do nothing, so (floor) - (a) is the cost QEMU itself charges for the
 * instrumentation and (c) - (floor) is what recording + compression add.
 *   -plugin libfloor.so,mode=none    nothing but a translation hook that
 *                                    registers nothing: the cost of having a
 *                                    plugin loaded at all, the floor of (b)
 *   -plugin libfloor.so,mode=tb      one empty callback per executed block
 *   -plugin libfloor.so,mode=full    + an inline store per instruction and an
 *                                    empty memory callback per access
 *   -plugin libfloor.so,mode=ring    full, but the callbacks copy out what a
 *                                    tracer must capture while the guest runs
 *                                    (block + progress index; virtual and
 *                                    physical address + meminfo per access)
 *                                    into a per-vCPU 16 MiB ring that nobody
 *                                    reads: recording with no logic, no
 *                                    encoding, no compression
 * Instruments everything from the start (the guest's boot is not timed).
 * Built by bench/guest/bench.py against $BUILD/qemu-include. */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum { MODE_NONE, MODE_TB, MODE_FULL, MODE_RING };
static int mode = MODE_TB;
static struct qemu_plugin_scoreboard *score;

static void on_tb(unsigned int vcpu, void *ud) { (void)vcpu; (void)ud; }
static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud) {
  (void)vcpu; (void)info; (void)va; (void)ud;
}

/* mode=ring. The ring is as large as a trace chunk, so its writes miss the
 * caches as a tracer's buffers do; 64 recent page translations per vCPU
 * stand in for qemutrace's translation cache (no invalidation: timing only). */
#define RING_WORDS (2u << 20)
#define XLAT 64
struct ring {
  uint64_t *buf;
  size_t pos;
  uint64_t vpage[XLAT], frame[XLAT];
} __attribute__((aligned(64)));
static struct ring *rings;
static unsigned nrings;

static struct ring *ring_of(unsigned int vcpu) {
  if (vcpu >= nrings) return NULL; /* hotplugged beyond max_vcpus: not expected */
  struct ring *r = &rings[vcpu];
  if (!r->buf) r->buf = calloc(RING_WORDS, sizeof(uint64_t));
  return r->buf ? r : NULL;
}

static void on_tb_ring(unsigned int vcpu, void *ud) {
  struct ring *r = ring_of(vcpu);
  if (!r) return;
  size_t p = r->pos + 2 > RING_WORDS ? 0 : r->pos;
  r->buf[p] = (uintptr_t)ud;
  r->buf[p + 1] = *(uint64_t *)qemu_plugin_scoreboard_find(score, vcpu);
  r->pos = p + 2;
}

static void on_mem_ring(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud) {
  struct ring *r = ring_of(vcpu);
  if (!r) return;
  uint64_t vp = va >> 12;
  unsigned s = vp % XLAT;
  uint64_t pa;
  if (r->vpage[s] == vp + 1) {
    pa = r->frame[s] | (va & 4095);
  } else {
    struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, va);
    pa = hw ? qemu_plugin_hwaddr_phys_addr(hw) : 0;
    r->vpage[s] = vp + 1;
    r->frame[s] = pa & ~(uint64_t)4095;
  }
  size_t p = r->pos + 3 > RING_WORDS ? 0 : r->pos;
  r->buf[p] = va;
  r->buf[p + 1] = pa;
  r->buf[p + 2] = (uintptr_t)ud ^ ((uint64_t)info << 48);
  r->pos = p + 3;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  if (mode == MODE_NONE) return;
  int ring = mode == MODE_RING;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, ring ? on_tb_ring : on_tb, QEMU_PLUGIN_CB_NO_REGS,
                                       (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
  if (mode == MODE_TB) return;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_u64 e = {score, 0};
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_STORE_U64, e, i);
    qemu_plugin_register_vcpu_mem_cb(insn, ring ? on_mem_ring : on_mem, QEMU_PLUGIN_CB_NO_REGS,
                                     QEMU_PLUGIN_MEM_RW, (void *)(uintptr_t)(i + 1));
  }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv) {
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "mode=none")) mode = MODE_NONE;
    if (!strcmp(argv[i], "mode=full")) mode = MODE_FULL;
    if (!strcmp(argv[i], "mode=ring")) mode = MODE_RING;
  }
  nrings = info->system_emulation ? (unsigned)info->system.max_vcpus : 1;
  if (!nrings) nrings = 1;
  rings = aligned_alloc(64, nrings * sizeof(struct ring));
  if (!rings) return -1;
  memset(rings, 0, nrings * sizeof(struct ring));
  score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
  return 0;
}
