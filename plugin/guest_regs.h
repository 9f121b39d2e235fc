// The guest registers the plugin reads (privilege level, address space,
// paging mode), by the gdb names the ISA gives; through the plugin API.
#pragma once

#include <cstdint>

namespace qemutrace::plugin {

// Resolves the register handles (first vCPU init; they are the same for all).
void find_guest_registers();
// The register handles were found (else CPL and ASID are recorded as 0).
bool have_guest_registers();
// Of the current vCPU.
uint64_t read_asid();
struct BlockMode {
  uint8_t cpl = 0;
  bool paging = false;
};
BlockMode read_block_mode();

}  // namespace qemutrace::plugin
