// Reading traces. A CoreReader walks one core's file instruction by
// instruction; a RunReader merges the cores of a run in time order.
//
// Every field read from disk is checked. Damage raises TraceError whose
// message names the file, the chunk and the byte offset; nothing crashes,
// hangs or allocates beyond the limits in docs/format.md.
#pragma once

#include <cstdint>
#include <cstddef>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "qemutrace/format.h"
#include "qemutrace/io.h"
#include "qemutrace/types.h"

namespace qemutrace {

class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FileHeaderInfo {
  uint16_t version = 0;
  uint16_t min_reader_version = 0;
  uint32_t header_size = 0;
  uint64_t features = 0;
  Isa isa = Isa::x86_64;
  uint8_t page_shift = 12;
  uint16_t core = 0;
  uint32_t chunk_insns = 0;
  uint64_t start_time_ns = 0;
};

struct ChunkInfo {
  uint64_t offset = 0;  // of the ChunkHeader
  uint64_t first_insn = 0;
  uint64_t insn_count = 0;
  uint64_t first_time_ns = 0;
  uint32_t compressed_size = 0;
  uint32_t raw_size = 0;
};

// What opening found about the file's integrity.
struct FileState {
  bool has_footer = false;     // index and footer valid
  uint64_t valid_bytes = 0;    // bytes up to the end of the last complete chunk
  uint64_t file_bytes = 0;
  std::string damage;          // empty when intact; otherwise what was lost
};

class ChunkDecoder;

namespace detail {
// One decoded block execution (internal to the reader). Its accesses are
// [access_begin, access_end) of the decoder's batch.
struct DecodedExec {
  uint64_t pc = 0;         // of its first instruction
  uint64_t phys_pc = 0;    // of its first instruction; 0 without PHYS_PC
  uint64_t next_pc = 0;    // PC after its last retired instruction (0: unknown)
  uint64_t asid = 0, time_ns = 0;
  uint32_t static_base = 0, retired = 0;
  uint32_t access_begin = 0, access_end = 0;
  uint32_t marker_begin = 0, marker_end = 0;  // markers that precede it
  uint8_t cpl = 0;
};
}  // namespace detail

class CoreReader {
 public:
  // Throws TraceError if the header is unusable. A missing footer or a
  // damaged tail is not an error: the reader keeps the complete chunks and
  // state().damage says what was lost.
  explicit CoreReader(std::unique_ptr<ByteSource> src);
  static std::unique_ptr<CoreReader> open(const std::string& path);
  ~CoreReader();

  const FileHeaderInfo& header() const { return header_; }
  const std::vector<ChunkInfo>& chunks() const { return chunks_; }
  const FileState& state() const { return state_; }
  const std::string& name() const;
  uint64_t total_instructions() const;

  // Positions the reader so that next() returns instruction `index` (or the
  // end). Uses the index; decodes only the chunk that holds it.
  void seek(uint64_t index);
  // The next retired instruction, or nullptr at the end. Throws TraceError.
  // The common case (inside one block execution) is inline.
  const Instruction* next() {
    if (cur_.insn < cur_.retired) return cur_.fill();
    if (cur_.exec < cur_.exec_end) {
      cur_.start(*cur_.exec++);
      return cur_.fill();
    }
    return next_slow();
  }
  // Markers after the last instruction (valid once next() returned nullptr).
  const std::vector<Marker>& tail_markers() const { return tail_markers_; }

  // Decodes chunk i completely and checks it (verify). Throws TraceError.
  void check_chunk(size_t i);

 private:
  // Position inside the current block execution and batch, over the
  // decoder's arrays. The batch pointers are cleared whenever the decoder
  // changes, so next() only starts executions of the current batch inline.
  struct Cursor {
    const detail::DecodedExec* exec = nullptr;
    const detail::DecodedExec* exec_end = nullptr;
    const Marker* markers = nullptr;
    const uint8_t* lengths = nullptr;
    const uint32_t* byte_offset = nullptr;
    const uint8_t* bytes = nullptr;
    const MemAccess* accesses = nullptr;
    const uint32_t* access_insn = nullptr;
    uint32_t insn = 0, retired = 0, static_base = 0, access = 0, access_end = 0;
    uint64_t pc = 0, index = 0, block_vaddr = 0, phys_base = 0, exec_next_pc = 0;
    Instruction out;
    void start(const detail::DecodedExec& e) {
      insn = 0;
      retired = e.retired;
      static_base = e.static_base;
      block_vaddr = pc = e.pc;
      phys_base = e.phys_pc;
      access = e.access_begin;
      access_end = e.access_end;
      exec_next_pc = e.next_pc;
      out.asid = e.asid;
      out.cpl = e.cpl;
      out.time_ns = e.time_ns;
      out.markers = markers + e.marker_begin;
      out.marker_count = e.marker_end - e.marker_begin;
    }
    const Instruction* fill() {
      uint32_t s = static_base + insn;
      uint8_t len = lengths[s];
      out.index = index++;
      out.pc = pc;
      out.phys_pc = phys_base ? phys_base + (pc - block_vaddr) : 0;
      out.length = len;
      out.bytes = bytes + byte_offset[s];
      uint32_t a0 = access;
      while (access < access_end && access_insn[access] == insn) access++;
      out.accesses = accesses + a0;
      out.access_count = access - a0;
      if (insn > 0) out.marker_count = 0;
      pc += len;
      insn++;
      out.next_pc = insn < retired ? pc : exec_next_pc;
      return &out;
    }
  };
  friend class ChunkDecoder;
  const Instruction* next_slow();
  bool load_chunk(size_t i);
  Cursor cur_;
  std::unique_ptr<ByteSource> src_;
  FileHeaderInfo header_;
  std::vector<ChunkInfo> chunks_;
  FileState state_;
  std::unique_ptr<ChunkDecoder> dec_;
  // The next chunk is read and decoded on another thread while this one is
  // iterated (declared after spare_ so it is joined first on destruction).
  std::unique_ptr<ChunkDecoder> spare_;
  std::unique_ptr<ChunkDecoder> check_dec_;  // for check_chunk
  std::future<void> prefetch_;
  size_t prefetch_index_ = SIZE_MAX;
  size_t next_chunk_ = 0;
  std::vector<Marker> tail_markers_;
  std::vector<Marker> pending_markers_, merged_markers_;
};

// Merges the per-core files of a run into one stream ordered by timestamp
// (ties: lower core first). Instruction::core tells the origin.
class RunReader {
 public:
  explicit RunReader(std::vector<std::unique_ptr<CoreReader>> cores);
  const Instruction* next();
  size_t core_count() const { return cores_.size(); }
  CoreReader& core(size_t i) { return *cores_[i]; }

 private:
  std::vector<std::unique_ptr<CoreReader>> cores_;
  std::vector<const Instruction*> heads_;
  size_t last_ = SIZE_MAX;
  bool primed_ = false;
};

// Files named by a manifest BASE.json, or BASE_<k> files for a base path.
// Returns the per-core paths in core order; throws TraceError if none exist.
std::vector<std::string> expand_trace_paths(const std::string& path_or_base);

}  // namespace qemutrace
