// Writing traces: one TraceSink per guest core (a run's files and manifest
// are written by RunWriter, qemutrace/run.h, part of the tools library).
//
// Threading: a TraceSink is used by one
// thread at a time (its vCPU thread); it never takes a lock shared with other
// cores except to hand a full chunk to the compression pool. Compression runs
// on background threads; a core blocks only when all its chunk buffers are in
// flight (back-pressure), it never drops data.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qemutrace/format.h"
#include "qemutrace/io.h"
#include "qemutrace/types.h"

namespace qemutrace {

// A static basic block, interned once per distinct (vaddr, paddr, bytes).
// Owned by the RunWriter; the pointer stays valid until the writer dies.
struct StaticBlock {
  uint64_t vaddr = 0;
  uint64_t paddr = 0;
  uint32_t id = 0;          // dense, from 0, per RunWriter
  uint32_t insn_count = 0;
  std::vector<uint8_t> lengths;  // per instruction
  std::vector<uint8_t> bytes;    // all instruction bytes back to back
};

struct WriterOptions {
  Isa isa = Isa::x86_64;
  uint64_t features = feature::kPhysAddr | feature::kKernel | feature::kAsid |
                      feature::kTimestamps;
  int zstd_level = 1;
  uint32_t chunk_insns = 1u << 20;   // close a chunk after this many instructions
  uint32_t chunk_raw_bytes = 16u << 20;  // ... or when its recorded events take this much memory
  unsigned compress_threads = 1;
  unsigned buffers_per_core = 4;      // chunks in flight before a core blocks
  // Clock for timestamps and the header's creation time; nullptr = the host
  // clocks. Tests set a fixed clock to get reproducible bytes.
  uint64_t (*clock_ns)() = nullptr;
};

class CompressionPool;

// The tracer's fast path into a sink's buffers (lib/format/lent_window.h).
struct LentWindow;

struct CoreTotals {
  uint64_t instructions = 0;
  uint64_t kernel_instructions = 0;  // attributed to the kernel (cpl 0 without levels)
  uint64_t hypervisor_instructions = 0;  // attributed to a hypervisor (level::kHypervisor)
  uint64_t nested_instructions = 0;      // of a level-2 guest (level::kNested)
  uint64_t loads = 0;
  uint64_t stores = 0;
  uint64_t chunks = 0;
  uint64_t bytes = 0;  // bytes written to the file so far
};

// The per-core event stream the tracer produces. BinaryCoreWriter stores it
// in our format; converters (convert.h) turn it into simulator formats, so a
// direct trace and a converted one are the same bytes.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // Privilege level, address space and level (level:: bits, recorded with
  // feature::kLevel) of the instructions that follow.
  virtual void set_context(uint8_t cpl, uint64_t asid, uint8_t lv) = 0;
  // The level a file without levels implies: cpl 0 kernel, else user.
  void set_context(uint8_t cpl, uint64_t asid) { set_context(cpl, asid, level::of_cpl(cpl)); }
  // An execution of `block` starts. Accesses follow, then end_block.
  virtual void begin_block(const StaticBlock* block) = 0;
  // An access by instruction `insn` (index within the current block), in
  // program order. size_log2 is 0..4. The binary writer truncates physical
  // addresses to 56 bits (x86 and Arm have at most 52) and drops accesses of
  // instructions the block does not have.
  virtual void access(uint32_t insn, uint64_t vaddr, uint64_t paddr, unsigned size_log2,
                      bool store, uint64_t value_lo = 0, uint64_t value_hi = 0) = 0;
  // The first `retired` instructions of the current block retired (0 allowed:
  // nothing is recorded). Accesses of later instructions are dropped.
  virtual void end_block(uint32_t retired) = 0;
  // end_block(retired) then begin_block(next): one call on the hot path.
  virtual void next_block(uint32_t retired, const StaticBlock* next) {
    end_block(retired);
    begin_block(next);
  }
  virtual bool in_block() const = 0;
  virtual void marker(const Marker& m) = 0;

  // The buffer windows this sink lends to the tracer's hot path
  // (lib/format/lent_window.h); nullptr for sinks that lend none.
  virtual LentWindow* lent_window() { return nullptr; }
  // Everything so far goes out to the file(s); then finish() writes any
  // trailer. finish() is idempotent and returns false on an I/O error.
  virtual void flush() = 0;
  virtual bool finish() = 0;
  virtual bool failed() const = 0;
  virtual std::string error() const = 0;
  // Safe to call from any thread (approximate while running).
  virtual CoreTotals totals() const = 0;

};

class BinaryCoreWriter final : public TraceSink {
 public:
  // Writes one core's file to `sink`. `pool` may be shared between cores and
  // must outlive the writer; nullptr compresses on the calling thread.
  BinaryCoreWriter(std::unique_ptr<ByteSink> sink, const WriterOptions& opts, uint16_t core,
                   CompressionPool* pool);
  ~BinaryCoreWriter() override;
  BinaryCoreWriter(const BinaryCoreWriter&) = delete;
  BinaryCoreWriter& operator=(const BinaryCoreWriter&) = delete;

  using TraceSink::set_context;
  void set_context(uint8_t cpl, uint64_t asid, uint8_t lv) override;
  void begin_block(const StaticBlock* block) override;
  void access(uint32_t insn, uint64_t vaddr, uint64_t paddr, unsigned size_log2, bool store,
              uint64_t value_lo = 0, uint64_t value_hi = 0) override;
  void end_block(uint32_t retired) override;
  void next_block(uint32_t retired, const StaticBlock* next) override;
  bool in_block() const override;
  void marker(const Marker& m) override;
  void flush() override;
  bool finish() override;
  bool failed() const override;
  std::string error() const override;
  CoreTotals totals() const override;
  LentWindow* lent_window() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The one clock of timestamps and manifest event times: CLOCK_MONOTONIC in ns.
uint64_t monotonic_ns();

// Background compression threads shared by the cores of a run.
class CompressionPool {
 public:
  explicit CompressionPool(unsigned threads);
  ~CompressionPool();
  CompressionPool(const CompressionPool&) = delete;
  CompressionPool& operator=(const CompressionPool&) = delete;

  struct Job;
  void submit(Job* job);
  unsigned threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qemutrace
