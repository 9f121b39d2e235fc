// CoreReader and RunReader (docs/trace-format.md). Every on-disk field is checked
// before use; errors name the file, chunk and offset.
#include "qemutrace/reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "bytes.h"
#include "chunk_codec.h"
#include "crc32.h"

namespace qemutrace {

using detail::get_u16;
using detail::get_u32;
using detail::get_u64;

namespace {
constexpr uint32_t kPrefetchMinRaw = 256u << 10;

// A chunk's compressed or raw bytes. Each chunk overwrites them whole, so the
// buffer grows without copying or zeroing (vector::resize would do both, and
// fault in fresh pages, for bytes about to be overwritten).
class ChunkBuffer {
 public:
  uint8_t* take(size_t n) {
    if (n > cap_) {
      cap_ = std::max<size_t>(n, std::min<size_t>(cap_ * 2, kMaxRawChunk));
      buf_.reset(new uint8_t[cap_]);
    }
    return buf_.get();
  }

 private:
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
};

}  // namespace

// Iterates the instructions of one chunk. load() checks and decompresses the
// payload (on the prefetch thread when there is one); the records are then
// decoded a small batch of executions at a time as the reader reaches them,
// straight into the Instruction records next() returns, so the batch stays
// in cache and next() only advances a pointer.
class ChunkDecoder {
 public:
  static constexpr size_t kBatchInsns = 256, kBatchAccesses = 1024;

  ChunkDecoder() : dctx_(ZSTD_createDCtx()) {}
  ~ChunkDecoder() { ZSTD_freeDCtx(dctx_); }

  // Reads, checks and decompresses chunk `ci`, and reads up to its first EXEC.
  void load(const ByteSource& src, const FileHeaderInfo& h, const ChunkInfo& ci, size_t index) {
    where_ = src.name() + ": chunk " + std::to_string(index) + " at offset " + std::to_string(ci.offset);
    const std::string& where = where_;
    uint8_t hdr[kChunkHeaderSize];
    if (!src.read_at(ci.offset, hdr, sizeof hdr)) throw TraceError(where + ": chunk header cut short");
    if (get_u32(hdr) != kChunkMagic) throw TraceError(where + ": bad chunk magic");
    if (get_u32(hdr + 4) != detail::crc32(hdr + 8, kChunkHeaderSize - 8))
      throw TraceError(where + ": chunk header checksum mismatch");
    if (get_u64(hdr + 8) != ci.first_insn || get_u64(hdr + 16) != ci.insn_count ||
        get_u32(hdr + 32) != ci.compressed_size || get_u32(hdr + 36) != ci.raw_size)
      throw TraceError(where + ": chunk header disagrees with the index");
    if (!dctx_) throw TraceError(where + ": zstd: cannot allocate a decompression context");
    uint8_t* const comp = comp_.take(ci.compressed_size);
    if (!src.read_at(ci.offset + kChunkHeaderSize, comp, ci.compressed_size))
      throw TraceError(where + ": payload cut short");
    if (get_u32(hdr + 40) != detail::crc32(comp, ci.compressed_size))
      throw TraceError(where + ": payload checksum mismatch");
    uint8_t* const raw = raw_.take(ci.raw_size);
    size_t n = ZSTD_decompressDCtx(dctx_, raw, ci.raw_size, comp, ci.compressed_size);
    if (ZSTD_isError(n)) throw TraceError(where + ": zstd: " + ZSTD_getErrorName(n));
    if (n != ci.raw_size) throw TraceError(where + ": payload decompresses to " + std::to_string(n) +
                                           " bytes, header says " + std::to_string(ci.raw_size));
    core_ = h.core;
    next_index_ = ci.first_insn;
    p_.start(raw, ci.raw_size, h.features, h.page_shift, ci.first_time_ns, ci.insn_count,
             get_u32(hdr + 44), &where_);
  }

  // Decodes the next batch and points `c` at it; false at the end of the chunk.
  bool next_batch(CoreReader::Cursor& c) {
    size_t n = p_.decode(ins_, acc_, kBatchInsns, kBatchAccesses, next_index_, core_);
    next_index_ += n;
    c.p = ins_.data();
    c.end = c.p + n;
    return n > 0;
  }
  // The batch's first record, to prepend markers carried over from the
  // previous chunk.
  Instruction& batch_front() { return ins_.front(); }

  // Skips n instructions of this chunk. Skipped instructions are still
  // decoded: the address predictors depend on every access before the target.
  void skip(CoreReader::Cursor& c, uint64_t n) {
    while (n > 0) {
      if (c.p >= c.end && !next_batch(c)) break;
      uint64_t k = std::min<uint64_t>(n, uint64_t(c.end - c.p));
      c.p += k;
      n -= k;
    }
  }

  // Decodes the rest of the chunk (check_chunk).
  void check_rest() {
    while (size_t n = p_.decode(ins_, acc_, kBatchInsns, kBatchAccesses, next_index_, core_)) next_index_ += n;
  }

  std::vector<Marker> tail_markers() const {
    const auto& m = p_.markers();
    return {m.begin() + p_.tail_marker_begin(), m.end()};
  }

 private:
  ZSTD_DCtx* dctx_;
  std::string where_;
  ChunkBuffer comp_, raw_;
  detail::ChunkParser p_;
  std::vector<Instruction> ins_;
  uint64_t next_index_ = 0;
  std::vector<MemAccess> acc_;
  uint16_t core_ = 0;
};

CoreReader::CoreReader(std::unique_ptr<ByteSource> src) : src_(std::move(src)) {
  const std::string& name = src_->name();
  const uint64_t size = src_->size();
  state_.file_bytes = size;
  uint8_t h[kFileHeaderSize];
  if (!src_->read_at(0, h, sizeof h)) throw TraceError(name + ": not a qemutrace file (shorter than its header)");
  if (std::memcmp(h, kFileMagic, 8) != 0) throw TraceError(name + ": not a qemutrace file (bad magic)");
  header_.version = get_u16(h + 8);
  header_.min_reader_version = get_u16(h + 10);
  header_.header_size = get_u32(h + 12);
  if (header_.min_reader_version > kFormatVersion)
    throw TraceError(name + ": needs reader version " + std::to_string(header_.min_reader_version) +
                     ", this reader is version " + std::to_string(kFormatVersion));
  if (header_.header_size < kFileHeaderSize || header_.header_size > 4096 || header_.header_size > size)
    throw TraceError(name + ": header size " + std::to_string(header_.header_size) + " out of range");
  std::vector<uint8_t> full(header_.header_size);
  if (!src_->read_at(0, full.data(), full.size())) throw TraceError(name + ": header cut short");
  if (get_u32(full.data() + full.size() - 4) != detail::crc32(full.data(), full.size() - 4))
    throw TraceError(name + ": header checksum mismatch");
  header_.features = get_u64(h + 16);
  uint8_t isa = h[24];
  if (isa < 1 || isa > 3) throw TraceError(name + ": unknown ISA " + std::to_string(isa));
  header_.isa = Isa(isa);
  header_.page_shift = h[25];
  if (header_.page_shift < 10 || header_.page_shift > 16)
    throw TraceError(name + ": page shift " + std::to_string(header_.page_shift) + " out of range");
  header_.core = get_u16(h + 26);
  header_.chunk_insns = get_u32(h + 28);
  header_.start_time_ns = get_u64(h + 32);
  if (uint64_t unknown = feature::unknown_required(header_.features))
    throw TraceError(name + ": needs feature bit " + std::to_string(__builtin_ctzll(unknown)) +
                     ", which this reader (format version " + std::to_string(kFormatVersion) +
                     ") does not know");

  // Prefer the index; fall back to a scan when it is missing or damaged.
  std::string index_problem;
  if (size >= header_.header_size + kIndexHeaderSize + kFooterSize) {
    uint8_t f[kFooterSize];
    if (!src_->read_at(size - kFooterSize, f, sizeof f)) {
      index_problem = "cannot read the footer";
    } else if (get_u32(f + 28) != kFooterMagic) {
      index_problem = "no footer (file not finished)";
    } else if (get_u32(f + 24) != detail::crc32(f, 24)) {
      index_problem = "footer checksum mismatch";
    } else {
      uint64_t ix_off = get_u64(f);
      uint32_t count = get_u32(f + 16);
      uint64_t ix_size = kIndexHeaderSize + uint64_t(count) * kIndexEntrySize;
      if (ix_off < header_.header_size || ix_off + ix_size + kFooterSize != size) {
        index_problem = "index position does not fit the file";
      } else {
        std::vector<uint8_t> ix(ix_size);
        if (!src_->read_at(ix_off, ix.data(), ix.size())) {
          index_problem = "cannot read the index";
        } else if (get_u32(ix.data()) != kIndexMagic || get_u32(ix.data() + 4) != count) {
          index_problem = "bad index header";
        } else if (get_u32(f + 20) != detail::crc32(ix.data(), ix.size())) {
          index_problem = "index checksum mismatch";
        } else {
          uint64_t expect_off = header_.header_size, expect_insn = 0;
          for (uint32_t i = 0; i < count && index_problem.empty(); i++) {
            const uint8_t* e = ix.data() + kIndexHeaderSize + size_t(i) * kIndexEntrySize;
            ChunkInfo ci{get_u64(e), get_u64(e + 8), get_u64(e + 16), get_u64(e + 24), get_u32(e + 32),
                         get_u32(e + 36)};
            if (ci.offset != expect_off || ci.first_insn != expect_insn || ci.raw_size > kMaxRawChunk ||
                ci.offset + kChunkHeaderSize + ci.compressed_size > ix_off)
              index_problem = "index entry " + std::to_string(i) + " is inconsistent";
            expect_off = ci.offset + kChunkHeaderSize + ci.compressed_size;
            expect_insn = ci.first_insn + ci.insn_count;
            chunks_.push_back(ci);
          }
          if (index_problem.empty() && expect_off != ix_off) index_problem = "index does not cover the chunks";
          if (index_problem.empty() && expect_insn != get_u64(f + 8))
            index_problem = "footer instruction total disagrees with the index";
          if (index_problem.empty()) {
            state_.has_footer = true;
            state_.valid_bytes = size;
            return;
          }
          chunks_.clear();
        }
      }
    }
  } else {
    index_problem = "no footer (file not finished)";
  }

  // Scan: keep every chunk whose header and payload check out.
  uint64_t off = header_.header_size, insn = 0;
  std::string stop;
  while (off < size) {
    uint8_t c[kChunkHeaderSize];
    if (size - off < kChunkHeaderSize) {
      stop = std::to_string(size - off) + " trailing bytes (an incomplete chunk header)";
      break;
    }
    if (!src_->read_at(off, c, sizeof c)) {
      stop = "a chunk header that cannot be read at offset " + std::to_string(off);
      break;
    }
    uint32_t magic = get_u32(c);
    if (magic == kIndexMagic) {
      stop = "a damaged index";
      break;
    }
    if (magic != kChunkMagic || get_u32(c + 4) != detail::crc32(c + 8, kChunkHeaderSize - 8)) {
      stop = "a damaged chunk header at offset " + std::to_string(off) + " (" + std::to_string(size - off) +
             " bytes unreadable)";
      break;
    }
    ChunkInfo ci{off, get_u64(c + 8), get_u64(c + 16), get_u64(c + 24), get_u32(c + 32), get_u32(c + 36)};
    if (ci.first_insn != insn || ci.raw_size > kMaxRawChunk) {
      stop = "an inconsistent chunk header at offset " + std::to_string(off);
      break;
    }
    if (ci.compressed_size > size - off - kChunkHeaderSize) {
      stop = "an incomplete chunk at offset " + std::to_string(off) + " (" + std::to_string(ci.insn_count) +
             " instructions, " + std::to_string(size - off) + " bytes)";
      break;
    }
    std::vector<uint8_t> payload(ci.compressed_size);
    if (!src_->read_at(off + kChunkHeaderSize, payload.data(), payload.size())) {
      stop = "a chunk payload that cannot be read at offset " + std::to_string(off);
      break;
    }
    if (get_u32(c + 40) != detail::crc32(payload.data(), payload.size())) {
      stop = "a chunk with a payload checksum mismatch at offset " + std::to_string(off) + " (" +
             std::to_string(ci.insn_count) + " instructions)";
      break;
    }
    chunks_.push_back(ci);
    off += kChunkHeaderSize + ci.compressed_size;
    insn += ci.insn_count;
  }
  state_.valid_bytes = off;
  state_.damage = index_problem + "; readable: " + std::to_string(chunks_.size()) + " complete chunks, " +
                  std::to_string(insn) + " instructions, " + std::to_string(off) + " of " +
                  std::to_string(size) + " bytes" + (stop.empty() ? "" : "; lost: " + stop);
}

std::unique_ptr<CoreReader> CoreReader::open(const std::string& path) {
  return std::make_unique<CoreReader>(open_file_source(path));
}

CoreReader::~CoreReader() = default;

const std::string& CoreReader::name() const { return src_->name(); }

uint64_t CoreReader::total_instructions() const {
  return chunks_.empty() ? 0 : chunks_.back().first_insn + chunks_.back().insn_count;
}

bool CoreReader::load_chunk(size_t i) {
  if (i >= chunks_.size()) return false;
  if (!dec_) dec_ = std::make_unique<ChunkDecoder>();
  if (prefetch_.valid()) {
    if (prefetch_index_ == i) {
      prefetch_.get();  // rethrows the prefetch's TraceError here, in order
      std::swap(dec_, spare_);
    } else {
      try {
        prefetch_.get();
      } catch (const TraceError&) {
        // A chunk we no longer want; its error is reported if it is read.
      }
      dec_->load(*src_, header_, chunks_[i], i);
    }
  } else {
    dec_->load(*src_, header_, chunks_[i], i);
  }
  // A thread per chunk pays off only for chunks that take a while to decode.
  if (i + 1 < chunks_.size() && chunks_[i + 1].raw_size >= kPrefetchMinRaw) {
    if (!spare_) spare_ = std::make_unique<ChunkDecoder>();
    prefetch_index_ = i + 1;
    prefetch_ = std::async(std::launch::async,
                           [this, i] { spare_->load(*src_, header_, chunks_[i + 1], i + 1); });
  }
  next_chunk_ = i + 1;
  cur_ = Cursor{};
  return true;
}

void CoreReader::seek(uint64_t index) {
  tail_markers_.clear();
  pending_markers_.clear();
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), index,
                             [](uint64_t v, const ChunkInfo& c) { return v < c.first_insn; });
  if (it == chunks_.begin() || index >= total_instructions()) {
    if (!chunks_.empty() && index >= total_instructions()) {
      load_chunk(chunks_.size() - 1);
      dec_->skip(cur_, chunks_.back().insn_count);
    } else {
      next_chunk_ = 0;
      dec_.reset();
      cur_ = Cursor{};
    }
    return;
  }
  size_t i = size_t(it - chunks_.begin()) - 1;
  load_chunk(i);
  dec_->skip(cur_, index - chunks_[i].first_insn);
}

const Instruction* CoreReader::next_slow() {
  for (;;) {
    if (dec_) {
      if (dec_->next_batch(cur_)) {
        if (!pending_markers_.empty()) {
          // Markers that ended the previous chunk precede this instruction.
          Instruction& first = dec_->batch_front();
          pending_markers_.insert(pending_markers_.end(), first.markers, first.markers + first.marker_count);
          merged_markers_.swap(pending_markers_);
          pending_markers_.clear();
          first.markers = merged_markers_.data();
          first.marker_count = uint32_t(merged_markers_.size());
        }
        return cur_.p++;
      }
      auto tail = dec_->tail_markers();
      pending_markers_.insert(pending_markers_.end(), tail.begin(), tail.end());
      if (next_chunk_ >= chunks_.size()) {
        tail_markers_.swap(pending_markers_);
        pending_markers_.clear();
        dec_.reset();
        cur_ = Cursor{};
        next_chunk_ = chunks_.size() + 1;
        return nullptr;
      }
    } else if (next_chunk_ > chunks_.size() || chunks_.empty()) {
      return nullptr;
    }
    if (!load_chunk(next_chunk_)) {
      next_chunk_ = chunks_.size() + 1;
      return nullptr;
    }
  }
}

void CoreReader::check_chunk(size_t i) {
  // One decoder for all checks: a new one per chunk would recreate its zstd
  // context and tables every time.
  if (!check_dec_) check_dec_ = std::make_unique<ChunkDecoder>();
  check_dec_->load(*src_, header_, chunks_.at(i), i);
  check_dec_->check_rest();
}

RunReader::RunReader(std::vector<std::unique_ptr<CoreReader>> cores) : cores_(std::move(cores)) {}

const Instruction* RunReader::next() {
  if (!primed_) {
    primed_ = true;
    heads_.resize(cores_.size());
    for (size_t i = 0; i < cores_.size(); i++) heads_[i] = cores_[i]->next();
  } else if (last_ < cores_.size()) {
    heads_[last_] = cores_[last_]->next();
  }
  size_t best = cores_.size();
  for (size_t i = 0; i < heads_.size(); i++) {
    if (!heads_[i]) continue;
    if (best == cores_.size() || heads_[i]->time_ns < heads_[best]->time_ns) best = i;
  }
  last_ = best;
  return best < cores_.size() ? heads_[best] : nullptr;
}

}  // namespace qemutrace
