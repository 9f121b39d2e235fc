// Translation: what the plugin instruments in each translated block, by
// phase. The ISA's knowledge comes from arch/ (markers, branch classes).
// The modes below (TransMode) are phase.h's phases: off = Off,
// skip = Skipping, on = Tracing, dead = Limit or Failed.
//
//   off   - only marker instructions get a callback. A block holding a START
//           marker (or the watched return point of an `int $100`) is also
//           instrumented after that point, gated by the per-core state,
//           because the rest of that block runs before the flush.
//   skip  - markers plus one counting callback per block (skip= before the
//           first region; a gap between windows (every=) is translated
//           "on", and on_tb_exec counts it).
//   on    - one callback per executed block, an inline scoreboard store of
//           the instruction index before each instruction that can stop
//           the block (and its first and last; in single-threaded TCG a
//           callback, on_progress, instead of the store), one memory
//           callback per access, callbacks on markers and on instructions
//           that may change translations (CR3 writes among them).
//   dead  - nothing (limit reached, or the trace failed).
#pragma once

#include <cstdint>
#include <vector>

#include "core.h"

namespace qemutrace::plugin {

struct Site {  // userdata of a marker callback (markers.cpp)
  TbInfo* tb = nullptr;
  uint32_t idx = 0;  // instruction index in the TB
  MarkerType type = MarkerType::None;
  bool watch = false;  // return point of an `int $100`
  uint16_t id = 0;
  uint64_t pc = 0;
  uint64_t next_pc = 0;  // after the instruction (an `int $100` returns there)
  const StaticBlock* sub = nullptr;  // block recorded when tracing starts here
  int32_t sub_base = 0;              // record index = tb index + sub_base
};

struct InsnRef {  // userdata of a memory callback
  TbInfo* tb;
  uint32_t idx;
};

// Per translated block. The fields every execution reads come first and
// share one cache line: kernel-heavy code runs through thousands of blocks,
// and the execution callback's cost is mostly the misses on this struct.
struct alignas(64) TbInfo {
  uint64_t vaddr = 0;
  // Successors that continue the stream without a discontinuity (both the
  // same for one possible successor); any_next: not predictable.
  uint64_t next_a = 0, next_b = 0;
  uint64_t last_pc = 0;
  const StaticBlock* sb = nullptr;  // whole block (on mode)
  const InsnRef* ref0 = nullptr;    // refs.data(): memory callbacks' userdata
  uint32_t n = 0;
  uint8_t cpl = 0;
  uint8_t level = 0;  // level:: bits by the run's rule (levels.h)
  bool any_next = false;
  // The last instruction is a REP string: a whole execution may not end the
  // record (QEMU re-enters it, record.cpp); otherwise there is nothing to
  // check but the successor (and the last access, if it must make one).
  bool last_rep = false;
  bool last_must_access = false;
  bool paging = false;  // translated with paging on (page cache usable)
  // Cold.
  const StaticBlock* rep_sb = nullptr;  // the last instruction alone (REP split)
  uint64_t fallthrough = 0;
  std::vector<InsnRef> refs;  // per instruction
  std::vector<uint64_t> pcs;  // per instruction
  std::vector<Site> sites;
};

void on_tb_trans(qemu_plugin_id_t, qemu_plugin_tb* tb);
void on_flush(qemu_plugin_id_t);
// Holds off on_flush while a vCPU that is not running touches its record.
std::mutex& translation_mutex();
uint64_t translations();
uint64_t flushes();

}  // namespace qemutrace::plugin
