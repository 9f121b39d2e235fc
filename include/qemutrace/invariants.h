// What a trace means, checked one core's instruction stream at a time
// (`qemutrace verify`; docs/trace-format.md, "Invariants"). The reader checks
// that every record is well formed; this checks that the stream makes sense:
// regions pair up, what follows an EXEC_PARTIAL, where control flow may go
// without a DISCONTINUITY marker. Part of the tools library (it decodes x86).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qemutrace/disasm.h"
#include "qemutrace/reader.h"
#include "qemutrace/types.h"

namespace qemutrace {

// A violated invariant: the file is well formed but says something
// impossible. The message names the instruction index and PC.
class InvariantError : public TraceError {
 public:
  using TraceError::TraceError;
};

// What the stream holds, as a reader counts it (the manifest's counts).
struct StreamCounts {
  uint64_t instructions = 0;
  uint64_t kernel_instructions = 0;
  uint64_t hypervisor_instructions = 0;
  uint64_t nested_instructions = 0;
  uint64_t loads = 0;
  uint64_t stores = 0;
};

class InvariantChecker {
 public:
  // finished: the file has its index and footer, so its stream is whole
  // (a cut-short file may end anywhere).
  InvariantChecker(Isa isa, bool finished);
  ~InvariantChecker();

  // Every instruction of one core, in order. Throws InvariantError.
  void check(const Instruction& in);
  // The markers after the last instruction (CoreReader::tail_markers).
  void finish(const std::vector<Marker>& tail_markers);

  const StreamCounts& counts() const { return counts_; }

 private:
  // Applies markers before the next instruction (or at the end); true if
  // one of them explains a break in control flow.
  bool markers(const Marker* m, size_t n, uint64_t at_index);
  void check_flow(const Instruction& in);
  [[noreturn]] void fail(uint64_t index, uint64_t pc, const std::string& what) const;

  Disassembler dis_;
  bool finished_;
  StreamCounts counts_;
  uint64_t last_time_ = 0;
  bool in_region_ = false;
  uint64_t region_begin_ = 0;
  // What may follow an instruction, decoded once per static instruction.
  struct Successors {
    uint64_t pc = 0;
    uint8_t len = 0;
    uint8_t bytes[15] = {};
    BranchKind kind = BranchKind::None;
    bool decodes = false, rep = false, has_target = false;
    uint64_t target = 0;
  };
  const Successors& successors(uint64_t pc, const uint8_t* bytes, uint8_t len);
  static constexpr size_t kCacheSize = 4096;
  std::vector<Successors> cache_ = std::vector<Successors>(kCacheSize);

  // The previous instruction. Its successors are looked up while its bytes
  // are valid, when the reader says control does not fall through; its
  // bytes are copied only when the reader cannot say (a chunk's last).
  bool have_prev_ = false;
  uint64_t prev_index_ = 0, prev_pc_ = 0;
  uint8_t prev_len_ = 0, prev_flags_ = 0;
  const Successors* prev_succ_ = nullptr;
  bool prev_bytes_kept_ = false;
  uint8_t prev_bytes_[16] = {};
};

}  // namespace qemutrace
