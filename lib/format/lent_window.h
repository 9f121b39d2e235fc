// The tracer's hot path into a sink: while a sink lends windows into its
// buffers, accesses and chained blocks are appended there without a call.
// Private to the tracer and the writer: the public TraceSink only names
// LentWindow, so its raw buffer pointers are no part of the installed API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "qemutrace/format.h"
#include "qemutrace/writer.h"

namespace qemutrace {

// What a tracer appends in memory for an execution and for an access (not
// the file format: encoding happens later, off the tracer's thread).
// 16 bytes: the tracer writes one per access and the encoder reads it back,
// at memory bandwidth. Only the physical frame is kept (the format records
// frames; the offset is the virtual address's), truncated to 56 bits; the instruction
// index saturates at 0xffff, beyond any block (kMaxBlockInsns), so that an
// out-of-range index stays out of range.
struct RawAccess {
  uint64_t vaddr;
  uint64_t word;  // frame << 20 | store << 19 | size_log2 << 16 | insn

  RawAccess() = default;
  RawAccess(uint64_t vaddr_, uint64_t paddr, uint32_t insn_, unsigned size_log2_, bool store_)
      : vaddr(vaddr_),
        word((paddr >> kPageShift) << 20 | uint64_t(store_) << 19 | uint64_t(size_log2_ & 7) << 16 |
             (insn_ > 0xffff ? 0xffff : insn_)) {}
  uint32_t insn() const { return uint32_t(word & 0xffff); }  // index within its block
  unsigned size_log2() const { return unsigned(word >> 16) & 7; }
  bool store() const { return (word >> 19) & 1; }
  uint64_t pframe() const { return word >> 20; }  // physical address >> kPageShift
};
static_assert(sizeof(RawAccess) == 16 && kMaxBlockInsns < 0xffff);
struct RawExec {
  const StaticBlock* block;  // nullptr: another event (writer-internal)
  uint32_t retired;
  uint32_t n;  // accesses of this execution
};

// The lent windows: [exec, exec_end) for executions, the next one of
// `open` (its accesses start at acc_open); [acc, acc_end) for accesses.
// Only while insns_left > retired: the sink's next timestamp or chunk end
// is further. Empty (all null) while nothing is lent.
struct LentWindow {
  RawExec* exec = nullptr;
  RawExec* exec_end = nullptr;
  RawAccess* acc = nullptr;
  RawAccess* acc_end = nullptr;
  RawAccess* acc_open = nullptr;
  const StaticBlock* open = nullptr;
  uint64_t insns_left = 0;
  std::atomic<uint64_t>* insns_done = nullptr;  // the sink's published instruction count
};

// The window to use with `sink`: its own, or one that stays empty, so that
// the calls below fall back to the sink's virtual methods.
inline LentWindow& lent_window_of(TraceSink& sink) {
  static LentWindow none;  // never written: both of its ranges are empty
  LentWindow* w = sink.lent_window();
  return w ? *w : none;
}

// Hot-path forms of access() and next_block(). Same results either way,
// provided chain_block's `retired` does not exceed the open block's
// instruction count (end_block clamps it; the fast path takes it as given).
inline void append_access(TraceSink& sink, LentWindow& w, uint32_t insn, uint64_t vaddr, uint64_t paddr,
                          unsigned size_log2, bool store) {
  if (w.acc != w.acc_end) {
    *w.acc++ = RawAccess{vaddr, paddr, insn, uint8_t(size_log2), store};
    return;
  }
  sink.access(insn, vaddr, paddr, size_log2, store);
}
inline void chain_block(TraceSink& sink, LentWindow& w, uint32_t retired, const StaticBlock* next) {
  // The block itself is not read here (a cache miss per block on kernel
  // code): a partial execution's accesses are trimmed where it is encoded.
  if (w.exec != w.exec_end && w.open && retired != 0 && retired < w.insns_left &&
      size_t(w.acc - w.acc_open) <= kMaxAccessesPerExec) {
    *w.exec++ = RawExec{w.open, retired, uint32_t(w.acc - w.acc_open)};
    w.acc_open = w.acc;
    w.insns_left -= retired;
    // totals() is read by other threads (live status) while a core runs.
    w.insns_done->store(w.insns_done->load(std::memory_order_relaxed) + retired, std::memory_order_relaxed);
    w.open = next;
    return;
  }
  sink.next_block(retired, next);
}

}  // namespace qemutrace
