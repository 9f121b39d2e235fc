// Reading traces. A CoreReader walks one core's file instruction by
// instruction; a RunReader merges the cores of a run in time order.
//
// Every field read from disk is checked. Damage raises TraceError whose
// message names the file, the chunk and the byte offset; nothing crashes,
// hangs or allocates beyond the limits in docs/trace-format.md.
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
  uint8_t page_shift = kPageShift;
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
  // The common case (inside the current decoded batch) is inline.
  const Instruction* next() {
    if (cur_.p < cur_.end) return cur_.p++;
    return next_slow();
  }
  // Markers after the last instruction (valid once next() returned nullptr).
  const std::vector<Marker>& tail_markers() const { return tail_markers_; }

  // Decodes chunk i completely and checks it (verify). Throws TraceError.
  void check_chunk(size_t i);

 private:
  // The decoder's current batch of instructions: [p, end) are still to be
  // returned. Cleared whenever the decoder changes.
  struct Cursor {
    const Instruction* p = nullptr;
    const Instruction* end = nullptr;
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

}  // namespace qemutrace
