/* bench/guest/floor-plugin.c: the instrumentation floor of a tracer, for
 * attributing qemutrace's cost. Same callbacks as qemutrace's "on" mode but
 * they do nothing, so (floor) - (a) is the cost QEMU itself charges for the
 * instrumentation and (c) - (floor) is what recording + compression add.
 *   -plugin libfloor.so,mode=tb      one empty callback per executed block
 *   -plugin libfloor.so,mode=full    + an inline store per instruction and an
 *                                    empty memory callback per access
 * Instruments everything from the start (the guest's boot is not timed).
 * Built by bench/guest/bench.py against $BUILD/qemu-include. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static int full;
static struct qemu_plugin_scoreboard *score;
static volatile uint64_t sink;

static void on_tb(unsigned int vcpu, void *ud) { (void)vcpu; (void)ud; }
static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud) {
  (void)vcpu; (void)info; (void)va; (void)ud;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, QEMU_PLUGIN_CB_NO_REGS, NULL);
  if (!full) return;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_u64 e = {score, 0};
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_STORE_U64, e, i);
    qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
  }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "mode=full")) full = 1;
  score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
  return 0;
}
