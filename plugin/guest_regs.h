// The guest registers the plugin reads (privilege level, address space,
// paging mode; stack pointer and argument registers for legacy markers), by the gdb names the ISA gives; through the plugin API.
#pragma once

#include <cstdint>

namespace qemutrace::plugin {

// Resolves the register handles (first vCPU init; they are the same for all).
void find_guest_registers();
// Of the current vCPU.
uint64_t read_asid();
struct BlockMode {
  uint8_t cpl = 0;
  bool paging = false;
};
BlockMode read_block_mode();
// The stack pointer (0 if the ISA names none). Needs a callback registered
// with QEMU_PLUGIN_CB_R_REGS, like read_marker_args.
uint64_t read_stack_pointer();
// The two argument registers of an IntConfirm marker (arch/: ContextRegs).
struct MarkerArgs {
  uint64_t arg0 = 0, arg1 = 0;
};
MarkerArgs read_marker_args();

}  // namespace qemutrace::plugin
