// Per-ISA knowledge the plugin needs, behind one small interface so that
// each ISA (x86.cpp, aarch64.cpp) only provides an implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "qemutrace/format.h"

namespace qemutrace::plugin {

// IntConfirm: whoever stepped a process past an `int $100` says so (the
// return point and the stack pointer in two argument registers).
enum class MarkerType : uint8_t { None, NopStart, NopStop, IntStart, IntStop, IntConfirm };

struct MarkerMatch {
  MarkerType type = MarkerType::None;
  uint16_t id = 0;
};

// How control leaves an instruction, as far as its bytes tell.
enum class Flow : uint8_t {
  Next,          // falls through only
  Direct,        // unconditional direct jump/call: target only
  CondDirect,    // conditional direct branch: target or fall-through
  Indirect,      // register/memory target, return, far transfer, syscall,
                 // software interrupt: the successor cannot be predicted
};

struct InsnClass {
  Flow flow = Flow::Next;
  uint64_t target = 0;        // for Direct/CondDirect
  bool writes_asid = false;   // changes the address space (x86: mov to CR3)
  bool is_rep_string = false; // x86 REP/REPE/REPNE string instruction
  // The instruction always performs at least one data memory access when it
  // retires (used to tell a faulting last instruction of a block from a
  // retired one). False when the access is conditional or absent.
  bool must_access_memory = false;
  // False only when the instruction provably cannot raise a synchronous
  // exception or stop its block early (plain integer register arithmetic,
  // direct jumps): TCG ends a block early only at such instructions, so the
  // plugin needs no per-instruction progress store before the others.
  bool may_stop_block = true;
  // May change how this core maps virtual to physical addresses (x86:
  // control-register and MSR writes, TLB invalidation, task switches,
  // SMM return): the plugin drops its cached translations there.
  bool changes_translation = false;
};

// Registers the plugin reads, by gdb name; resolved once, at the first vCPU
// init (guest_regs.cpp): the handles are the same for every vCPU.
struct ContextRegs {
  const char* priv = nullptr;   // x86: "cs"
  const char* asid = nullptr;   // x86: "cr3"
  const char* mode = nullptr;   // x86: "cr0" (PE bit: protected mode)
  const char* sp = nullptr;     // x86: "rsp" / "esp" (legacy markers)
  const char* arg0 = nullptr;   // IntConfirm's arguments; x86: "rax" / "eax"
  const char* arg1 = nullptr;   // x86: "rdx" / "edx"
};

class Arch {
 public:
  virtual ~Arch() = default;
  virtual Isa isa() const = 0;
  virtual ContextRegs regs() const = 0;
  // Privilege level from the raw register values (little-endian bytes).
  virtual uint8_t privilege(uint64_t priv_reg, uint64_t mode_reg) const = 0;
  // Paging is on (virtual and physical addresses differ by a page walk).
  virtual bool paging(uint64_t mode_reg) const = 0;
  virtual uint64_t asid(uint64_t asid_reg) const = 0;
  virtual MarkerMatch match_marker(const uint8_t* bytes, size_t len) const = 0;
  virtual InsnClass classify(uint64_t pc, const uint8_t* bytes, size_t len) const = 0;
  // The instruction enters a guest of the guest (x86: SVM's VMRUN), which
  // returns to its fall-through on a VM exit (nested.h).
  virtual bool enters_guest(const uint8_t* bytes, size_t len) const {
    (void)bytes;
    (void)len;
    return false;
  }
};

// target_name is qemu_info_t::target_name ("x86_64", "i386", "aarch64").
std::unique_ptr<Arch> make_arch(const std::string& target_name, std::string* error);
std::unique_ptr<Arch> make_x86_arch(bool is64);  // arch/x86.cpp
std::unique_ptr<Arch> make_aarch64_arch();       // arch/aarch64.cpp

}  // namespace qemutrace::plugin
