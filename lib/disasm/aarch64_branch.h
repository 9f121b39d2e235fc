// The one aarch64 branch classifier, from the 32-bit instruction word: the
// disassembler (dump, converters, verify) and the plugin (at translation
// time) both use it, so they agree on every branch's kind and target.
// Encodings: Arm Architecture Reference Manual, "Branches, Exception
// Generating and System instructions".
#pragma once

#include <cstdint>

#include "qemutrace/disasm.h"

namespace qemutrace {

struct A64Branch {
  BranchKind kind = BranchKind::None;
  // Direct branches (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ): the absolute target.
  bool has_target = false;
  uint64_t target = 0;
};

// word: the instruction as the CPU reads it (little-endian bytes as a
// number); pc: its address (targets are PC-relative).
A64Branch classify_aarch64_branch(uint32_t word, uint64_t pc);

// The little-endian instruction word from 4 bytes.
inline uint32_t aarch64_word(const uint8_t* b) {
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

}  // namespace qemutrace
