// The memory callback's qemu_plugin_meminfo_t, decoded here rather than with
// qemu_plugin_mem_size_shift / qemu_plugin_mem_is_store: two API calls per
// access cost a lot on memory-heavy code (a library call each, on the
// hottest path). The layout (QEMU's MemOpIdx = MemOp << 4 | mmu_idx in the
// low 16 bits, the access kind above) is checked against those two calls
// once at install, so a QEMU that changes it is refused, not misread. The
// API has no call for mmu_idx, so that field is not checked; it is only
// part of the page cache's key (record.cpp, physical_address).
#pragma once

#include <cstdint>

extern "C" {
#include <qemu-plugin.h>
}

namespace qemutrace::plugin::meminfo {

enum : unsigned { kRead = 1, kWrite = 2, kReadWrite = 3 };  // qemu_plugin_mem_rw

inline unsigned size_log2(qemu_plugin_meminfo_t info) {
  unsigned s = (info >> 4) & 7;  // MemOp & MO_SIZE
  return s > 4 ? 4 : s;
}
inline unsigned rw(qemu_plugin_meminfo_t info) { return (info >> 16) & 3; }
inline uint32_t mmu_idx(qemu_plugin_meminfo_t info) { return info & 15; }

// The decoding above agrees with the API on every size and access kind.
inline bool matches_api() {
  for (unsigned size = 0; size < 4; ++size)
    for (unsigned kind : {kRead, kWrite, kReadWrite}) {
      qemu_plugin_meminfo_t info = (kind << 16) | (size << 4) | 1u;
      if (qemu_plugin_mem_size_shift(info) != size_log2(info)) return false;
      if (qemu_plugin_mem_is_store(info) != ((rw(info) & kWrite) != 0)) return false;
    }
  return true;
}

}  // namespace qemutrace::plugin::meminfo
