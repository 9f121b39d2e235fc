// Record encoding and decoding of one chunk payload (docs/format.md,
// Records). Pure in-memory code: no files, no compression, no threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "qemutrace/format.h"
#include "qemutrace/types.h"
#include "qemutrace/writer.h"

namespace qemutrace::detail {

struct RawAccess {
  uint64_t vaddr, paddr, value_lo, value_hi;
  uint32_t insn;
  uint8_t size_log2;
  bool store;
};

struct PredictorSlot {
  uint64_t last = 0;
  uint64_t stride = 0;
};

// Physical-frame table entry; valid when gen equals the table's current
// generation, so starting a chunk is O(1) instead of clearing 64K entries.
struct PhysEntry {
  uint64_t vpage = 0;
  uint64_t asid = 0;
  uint64_t pframe = 0;
  uint32_t gen = 0;
};

class PhysTable {
 public:
  static constexpr size_t kEntries = size_t(1) << kPhysTableBits;
  void reset() {
    // calloc: the 2 MiB table comes as untouched zero pages, so readers
    // that decode little (verify, truncated files) pay only for what they use.
    if (!entries_) entries_.reset(static_cast<PhysEntry*>(std::calloc(kEntries, sizeof(PhysEntry))));
    if (!entries_) throw std::bad_alloc();
    if (++gen_ == 0) {  // wrapped: really clear once every 2^32 chunks
      std::fill(entries_.get(), entries_.get() + kEntries, PhysEntry{});
      gen_ = 1;
    }
  }
  PhysEntry& at(size_t i) { return entries_.get()[i]; }
  bool valid(const PhysEntry& e) const { return e.gen == gen_; }
  uint32_t gen() const { return gen_; }

 private:
  struct Free {
    void operator()(PhysEntry* p) const { std::free(p); }
  };
  std::unique_ptr<PhysEntry, Free> entries_;
  uint32_t gen_ = 0;
};

inline constexpr unsigned kSlotsPerInsn = 4;
inline unsigned access_slot(unsigned k) { return k < 4 ? k : 2 + (k & 1); }
inline size_t phys_index(uint64_t vpage, uint64_t asid) {
  return size_t((vpage ^ (asid >> 12) * 0x9E3779B1ull) & ((1u << kPhysTableBits) - 1));
}

// Builds one chunk's payload from the writer-side event stream.
class ChunkEncoder {
 public:
  ChunkEncoder(uint64_t features, uint8_t page_shift) : features_(features), page_shift_(page_shift) {}
  // Reuse for another file's chunks (compression threads serve every core).
  void configure(uint64_t features, uint8_t page_shift) {
    features_ = features;
    page_shift_ = page_shift;
  }

  // Starts a new chunk: all decoder state resets.
  void start(uint64_t first_insn, uint64_t time_ns);
  bool open() const { return open_; }
  void set_context(uint8_t cpl, uint64_t asid);
  void timestamp(uint64_t time_ns);
  void marker(const Marker& m);
  // Encodes an execution of `b`; `accesses` must be in program order and all
  // of instructions < retired. retired ≥ 1.
  void exec(const StaticBlock& b, uint32_t retired, const RawAccess* accesses, size_t count);
  void successor(uint64_t pc);

  const std::vector<uint8_t>& payload() const { return out_; }
  std::vector<uint8_t> take_payload();
  uint64_t first_insn() const { return first_insn_; }
  uint64_t insn_count() const { return insn_count_; }
  uint64_t first_time_ns() const { return first_time_ns_; }
  uint64_t time_ns() const { return time_ns_; }
  uint32_t record_count() const { return records_; }
  uint64_t loads() const { return loads_; }
  uint64_t stores() const { return stores_; }

 private:
  uint32_t define_if_needed(const StaticBlock& b);

  uint64_t features_;
  uint8_t page_shift_;
  bool open_ = false;
  std::vector<uint8_t> out_;
  uint64_t first_insn_ = 0, insn_count_ = 0, first_time_ns_ = 0, time_ns_ = 0;
  uint32_t records_ = 0;
  uint64_t loads_ = 0, stores_ = 0;
  // Chunk-local numbering, indexed by StaticBlock::id, valid when the epoch
  // matches (no clearing between chunks).
  uint32_t epoch_ = 0;
  std::vector<uint32_t> local_epoch_, local_id_, local_first_insn_;
  uint32_t blocks_defined_ = 0;
  uint32_t static_insns_ = 0;
  std::vector<PredictorSlot> slots_;
  PhysTable phys_;
  bool have_context_ = false;
  uint8_t cpl_ = 0;
  uint64_t asid_ = 0;
};

// A decoded chunk: blocks, executions, accesses, markers.
struct DecodedChunk {
  struct Block {
    uint64_t vaddr = 0, paddr = 0;
    uint32_t insn_count = 0;
    uint32_t first_static = 0;  // index into insn_offset / lengths
  };
  struct Exec {
    uint32_t block = 0;
    uint32_t retired = 0;
    uint32_t access_begin = 0, access_end = 0;
    uint32_t marker_begin = 0, marker_end = 0;
    uint8_t cpl = 0;
    uint64_t asid = 0;
    uint64_t time_ns = 0;
  };
  std::vector<Block> blocks;
  std::vector<uint8_t> lengths;        // per static instruction
  std::vector<uint32_t> byte_offset;   // per static instruction, into bytes
  std::vector<uint8_t> bytes;
  std::vector<Exec> execs;
  std::vector<MemAccess> accesses;
  std::vector<uint32_t> access_insn;   // instruction index within the block
  std::vector<Marker> markers;
  uint32_t tail_marker_begin = 0;      // markers[tail_marker_begin..] follow the last exec
  uint64_t successor = 0;
  uint64_t insn_count = 0;
  uint32_t record_count = 0;
  // Decoder scratch kept between chunks to avoid reallocation.
  std::vector<PredictorSlot> slots;
  PhysTable phys;
};

// Decodes a payload; throws TraceError with `where` + " at payload offset N: what".
void decode_chunk(const uint8_t* data, size_t size, uint64_t features, uint8_t page_shift,
                  uint64_t first_time_ns, const std::string& where, DecodedChunk* out);

}  // namespace qemutrace::detail
