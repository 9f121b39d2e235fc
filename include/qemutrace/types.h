// What a trace holds, as the reader hands it out and the writer takes it in.
#pragma once

#include <cstdint>

#include "qemutrace/format.h"

namespace qemutrace {

struct MemAccess {
  uint64_t vaddr = 0;
  uint64_t paddr = 0;     // valid when the file has feature::kPhysAddr
  uint64_t value_lo = 0;  // valid when the file has feature::kValues
  uint64_t value_hi = 0;  // bytes 8..15 of a 16-byte access
  uint8_t size = 0;       // bytes: 1, 2, 4, 8 or 16
  bool is_store = false;
};

struct Marker {
  MarkerKind kind = MarkerKind::RoiBegin;
  MarkerSource source = MarkerSource::None;
  uint16_t id = 0;
  uint64_t value = 0;
};

// Instruction::flags bits.
namespace insn_flag {
// The last instruction an EXEC_PARTIAL retired: the block's next instruction
// did not retire (docs/trace-format.md says what may follow).
inline constexpr uint8_t kEndsPartialExec = 1;
}  // namespace insn_flag

// One retired instruction. Pointers stay valid until the reader advances.
struct Instruction {
  uint64_t index = 0;  // per core, from 0
  uint64_t pc = 0;
  uint64_t phys_pc = 0;  // valid with feature::kPhysPc
  uint64_t asid = 0;
  uint64_t time_ns = 0;  // last timestamp at or before this instruction
  // PC that executed next on this core, or 0 if unknown (end of trace).
  uint64_t next_pc = 0;
  const uint8_t* bytes = nullptr;
  const MemAccess* accesses = nullptr;
  const Marker* markers = nullptr;  // markers emitted just before it
  uint32_t access_count = 0;
  uint32_t marker_count = 0;
  uint16_t core = 0;
  uint8_t length = 0;
  uint8_t cpl = 0;
  uint8_t flags = 0;  // insn_flag bits
  uint8_t level = 0;  // level:: bits (format.h): privilege and nesting

  // Attribution by level: exactly one of kernel, user, hypervisor holds.
  // Without feature::kLevel, kernel is cpl 0 (a Xen PV guest kernel runs at
  // cpl 3 and is told apart only through the level).
  bool is_kernel() const { return level::privilege(level) == level::kKernel; }
  bool is_user() const { return level::privilege(level) == level::kUser; }
  bool is_hypervisor() const { return level::privilege(level) == level::kHypervisor; }
  bool is_nested() const { return (level & level::kNested) != 0; }
  // True when the next executed PC is not the fall-through.
  bool transfers() const { return next_pc != 0 && next_pc != pc + length; }
};

}  // namespace qemutrace
