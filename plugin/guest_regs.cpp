#include "guest_regs.h"

#include <glib.h>

#include <cstring>
#include <type_traits>

#include "core.h"

namespace qemutrace::plugin {
namespace {

struct GuestRegs {
  qemu_plugin_register* priv = nullptr;
  qemu_plugin_register* asid = nullptr;
  qemu_plugin_register* mode = nullptr;
  qemu_plugin_register* sp = nullptr;
  qemu_plugin_register* arg0 = nullptr;
  qemu_plugin_register* arg1 = nullptr;
};
GuestRegs g_regs;
static_assert(std::is_trivially_destructible_v<GuestRegs>, "see Immortal");

uint64_t read_reg(qemu_plugin_register* r) {
  if (!r) return 0;
  thread_local GByteArray* buf = g_byte_array_new();
  g_byte_array_set_size(buf, 0);
  int n = qemu_plugin_read_register(r, buf);
  uint64_t v = 0;
  for (int i = 0; i < n && i < 8; ++i) v |= uint64_t(buf->data[i]) << (8 * i);
  return v;
}

}  // namespace

void find_guest_registers() {
  ContextRegs want = g_plugin->arch->regs();
  GArray* regs = qemu_plugin_get_registers();
  if (!regs) return;
  for (guint i = 0; i < regs->len; ++i) {
    auto* d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
    if (want.priv && !strcmp(d->name, want.priv)) g_regs.priv = d->handle;
    if (want.asid && !strcmp(d->name, want.asid)) g_regs.asid = d->handle;
    if (want.mode && !strcmp(d->name, want.mode)) g_regs.mode = d->handle;
    if (want.sp && !strcmp(d->name, want.sp)) g_regs.sp = d->handle;
    if (want.arg0 && !strcmp(d->name, want.arg0)) g_regs.arg0 = d->handle;
    if (want.arg1 && !strcmp(d->name, want.arg1)) g_regs.arg1 = d->handle;
  }
  g_array_free(regs, TRUE);
  if (!g_regs.priv || !g_regs.asid)
    say("warning: guest registers for privilege level / address space not found; "
        "recording CPL and ASID as 0");
}

uint64_t read_asid() { return g_plugin->arch->asid(read_reg(g_regs.asid)); }

BlockMode read_block_mode() {
  BlockMode m;
  if (!g_regs.priv) return m;
  uint64_t mode = read_reg(g_regs.mode);
  m.cpl = g_plugin->arch->privilege(read_reg(g_regs.priv), mode);
  m.paging = g_plugin->arch->paging(mode);
  return m;
}

uint64_t read_stack_pointer() { return read_reg(g_regs.sp); }

MarkerArgs read_marker_args() { return MarkerArgs{read_reg(g_regs.arg0), read_reg(g_regs.arg1)}; }

}  // namespace qemutrace::plugin
