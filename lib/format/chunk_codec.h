// Record encoding and decoding of one chunk payload (docs/trace-format.md,
// Records). Pure in-memory code: no files, no compression, no threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "qemutrace/format.h"
#include "qemutrace/types.h"
#include "lent_window.h"
#include "qemutrace/writer.h"

namespace qemutrace::detail {

// An access as the tracer records it (lent_window.h); values, when recorded,
// sit in a parallel array.
using qemutrace::RawAccess;

struct RawValue {
  uint64_t lo, hi;
};

// Zeroed by value-initialisation (resize, PredictorSlot{}); trivial, so a
// chunk's new slots are cleared by memset rather than one by one.
struct PredictorSlot {
  uint64_t last;
  uint64_t stride;
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
  return size_t((vpage ^ (asid >> kPageShift) * 0x9E3779B1ull) & ((1u << kPhysTableBits) - 1));
}

// Builds one chunk's payload from the writer-side event stream.
class ChunkEncoder {
 public:
  // Pages are kPageShift, the granule of RawAccess frames.
  explicit ChunkEncoder(uint64_t features) : features_(features) {}
  // Reuse for another file's chunks (compression threads serve every core).
  void configure(uint64_t features) { features_ = features; }

  // Starts a new chunk: all decoder state resets.
  void start(uint64_t first_insn, uint64_t time_ns);
  // `lv` (level:: bits) is written only with feature::kLevel.
  void set_context(uint8_t cpl, uint64_t asid, uint8_t lv);
  void timestamp(uint64_t time_ns);
  void marker(const Marker& m);
  // Encodes an execution of `b`; `accesses` must be in program order and all
  // of instructions < retired. retired ≥ 1.
  // `values` (one per access) is read only with feature::kValues.
  void exec(const StaticBlock& b, uint32_t retired, const RawAccess* accesses, size_t count,
            const RawValue* values = nullptr);
  void successor(uint64_t pc);

  // The chunk's payload so far (valid until the next call).
  const uint8_t* payload_data() const { return out_.data(); }
  size_t payload_size() const { return len_; }
  std::vector<uint8_t> payload() const { return {out_.data(), out_.data() + len_}; }
  uint64_t first_insn() const { return first_insn_; }
  uint64_t insn_count() const { return insn_count_; }
  uint64_t first_time_ns() const { return first_time_ns_; }
  uint64_t time_ns() const { return time_ns_; }
  uint32_t record_count() const { return records_; }
  uint64_t loads() const { return loads_; }
  uint64_t stores() const { return stores_; }

 private:
  struct LocalBlock {  // one cache line serves an execution's lookup
    uint32_t epoch = 0, id = 0, first_insn = 0;
  };
  // The block's chunk-local entry, defining it (DefineBlock) on first use.
  const LocalBlock& local(const StaticBlock& b) {
    if (b.id < locals_.size() && locals_[b.id].epoch == epoch_) return locals_[b.id];
    return define(b);
  }
  const LocalBlock& define(const StaticBlock& b);

  uint64_t features_;
  std::vector<uint8_t> out_;  // the first len_ bytes are the payload
  size_t len_ = 0;
  uint64_t first_insn_ = 0, insn_count_ = 0, first_time_ns_ = 0, time_ns_ = 0;
  uint32_t records_ = 0;
  uint64_t loads_ = 0, stores_ = 0;
  // Chunk-local numbering, indexed by StaticBlock::id, valid when the epoch
  // matches (no clearing between chunks).
  uint32_t epoch_ = 0;
  std::vector<LocalBlock> locals_;
  uint32_t blocks_defined_ = 0;
  uint32_t static_insns_ = 0;
  std::vector<PredictorSlot> slots_;
  PhysTable phys_;
  bool have_context_ = false;
  uint8_t cpl_ = 0, level_ = 0;
  uint64_t asid_ = 0;
};

// Decodes one chunk payload a few block executions at a time, straight into
// the Instruction records a reader hands out, so a reader holds only a small
// batch instead of the whole chunk's. Every field is checked; failures throw
// TraceError naming `where` and the payload offset. The chunk's instruction
// and record totals are checked against its header when the payload's end is
// reached, before the batch holding the last execution is returned.
class ChunkParser {
 public:
  struct Block {
    uint64_t vaddr = 0, paddr = 0;
    uint32_t insn_count = 0;
    uint32_t first_static = 0;  // index into statics()
  };

  // Starts on a payload that stays valid (and unmoved) while it is parsed.
  // Reads up to the first execution.
  void start(const uint8_t* data, size_t size, uint64_t features, uint8_t page_shift, uint64_t first_time_ns,
             uint64_t expect_insns, uint32_t expect_records, const std::string* where);
  // Decodes whole executions into ins[] (one record per retired instruction,
  // indexes counting from first_index) and their accesses into acc[], until
  // at least max_insns instructions or max_acc accesses are decoded; both
  // grow when one execution needs more. Records point into the payload,
  // acc and markers(). Returns the number of instructions; 0 at the end of
  // the chunk.
  size_t decode(std::vector<Instruction>& ins, std::vector<MemAccess>& acc, size_t max_insns, size_t max_acc,
                uint64_t first_index, uint16_t core);

  // Per static instruction, laid out for the record loop: adding {one,
  // length} to {index, pc} steps to the next instruction.
  struct alignas(16) StaticInsn {
    uint64_t one, length;
    const uint8_t* bytes;   // in the payload
    uint64_t length_tail;   // length where it sits in a record's last 8 bytes
  };
  const StaticInsn* statics() const { return statics_.data(); }
  const std::vector<Marker>& markers() const { return markers_; }
  // Markers after the last execution (valid at the end of the chunk).
  uint32_t tail_marker_begin() const { return marker_mark_; }
  [[noreturn]] void fail(const std::string& what, size_t at) const;

 private:
  // An EXEC header read ahead of its access list.
  struct Pending {
    uint32_t block = 0, retired = 0, access_count = 0;
  };
  template <bool kPhys, bool kValues>
  size_t decode_t(std::vector<Instruction>& ins, std::vector<MemAccess>& acc, size_t max_insns, size_t max_acc,
                  uint64_t first_index, uint16_t core);
  template <bool kPhys, bool kValues, bool kBounded>
  const uint8_t* decode_accesses(const uint8_t* p, uint32_t count, uint32_t retired, Instruction* in,
                                 MemAccess* out, PredictorSlot* slots, uint64_t asid);
  template <bool kBounded>
  uint64_t varint_at(const uint8_t*& p);
  // Reads records up to and including the next EXEC header into pending_.
  void read_ahead();
  void check_totals() const;
  uint8_t u8() {
    if (__builtin_expect(pos_ >= size_, 0)) fail("record cut short", pos_);
    return data_[pos_++];
  }
  uint64_t varint() {
    if (__builtin_expect(pos_ < size_ && data_[pos_] < 0x80, 1)) return data_[pos_++];
    return varint_slow();
  }
  uint64_t varint_slow();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0, pos_ = 0;
  const std::string* where_ = nullptr;
  uint64_t features_ = 0;
  uint8_t page_shift_ = 12;
  std::vector<Block> blocks_;
  std::vector<StaticInsn> statics_;
  std::vector<Marker> markers_;
  std::vector<PredictorSlot> slots_;
  PhysTable phys_;
  Pending pending_;
  bool have_pending_ = false;
  uint32_t marker_mark_ = 0;
  // Records of the current batch whose markers start at markers_[second]:
  // pointed at once the batch is done (markers_ may grow meanwhile).
  std::vector<std::pair<size_t, uint32_t>> marker_fix_;
  uint64_t successor_ = 0;
  bool successor_seen_ = false;
  bool have_state_ = false;
  uint8_t cpl_ = 0, level_ = 0;
  uint64_t asid_ = 0;
  uint64_t now_ = 0;
  uint64_t insn_count_ = 0, expect_insns_ = 0;
  uint32_t record_count_ = 0, expect_records_ = 0;
};

}  // namespace qemutrace::detail
