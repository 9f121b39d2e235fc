#include "chunk_codec.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bytes.h"
#include "qemutrace/reader.h"

namespace qemutrace::detail {

void ChunkEncoder::start(uint64_t first_insn, uint64_t time_ns) {
  len_ = 0;
  first_insn_ = first_insn;
  insn_count_ = 0;
  first_time_ns_ = time_ns_ = time_ns;
  records_ = 0;
  loads_ = stores_ = 0;
  epoch_++;
  blocks_defined_ = 0;
  static_insns_ = 0;  // define() clears the slots of each block it numbers
  phys_.reset();
  have_context_ = false;
}


void ChunkEncoder::set_context(uint8_t cpl, uint64_t asid, uint8_t lv) {
  if (!(features_ & feature::kAsid)) asid = 0;
  if (!(features_ & feature::kLevel)) lv = level::of_cpl(cpl);
  if (have_context_ && cpl == cpl_ && asid == asid_ && lv == level_) return;
  have_context_ = true;
  cpl_ = cpl;
  asid_ = asid;
  level_ = lv;
  ByteWriter w(&out_, &len_, 3 + kMaxVarint);
  w.u8(uint8_t(RecordType::State));
  w.u8(cpl);
  if (features_ & feature::kLevel) w.u8(lv);
  if (features_ & feature::kAsid) w.varint(asid);
  records_++;
}

void ChunkEncoder::timestamp(uint64_t time_ns) {
  if (!(features_ & feature::kTimestamps) || time_ns <= time_ns_) return;
  ByteWriter w(&out_, &len_, 1 + kMaxVarint);
  w.u8(uint8_t(RecordType::Timestamp));
  w.varint(time_ns - time_ns_);
  time_ns_ = time_ns;
  records_++;
}

void ChunkEncoder::marker(const Marker& m) {
  ByteWriter w(&out_, &len_, 3 + 2 * kMaxVarint);
  w.u8(uint8_t(RecordType::Marker));
  w.u8(uint8_t(m.kind));
  w.u8(uint8_t(m.source));
  w.varint(m.id);
  w.varint(m.value);
  records_++;
}

void ChunkEncoder::successor(uint64_t pc) {
  ByteWriter w(&out_, &len_, 1 + kMaxVarint);
  w.u8(uint8_t(RecordType::Successor));
  w.varint(pc);
  records_++;
}

const ChunkEncoder::LocalBlock& ChunkEncoder::define(const StaticBlock& b) {
  if (b.id >= locals_.size()) locals_.resize(std::max<size_t>(b.id + 1, locals_.size() * 2));
  LocalBlock& l = locals_[b.id];
  l = LocalBlock{epoch_, blocks_defined_++, static_insns_};
  static_insns_ += b.insn_count;
  size_t need = size_t(static_insns_) * kSlotsPerInsn;
  if (slots_.size() < need) slots_.resize(std::max(need, slots_.size() * 2));
  // Only the slots this chunk numbers are cleared, not the whole table: it
  // is as large as the largest chunk's code, and most chunks use far less.
  std::fill(slots_.begin() + ptrdiff_t(l.first_insn) * kSlotsPerInsn, slots_.begin() + ptrdiff_t(need),
            PredictorSlot{});

  ByteWriter w(&out_, &len_, 1 + 3 * kMaxVarint + b.insn_count + b.bytes.size());
  w.u8(uint8_t(RecordType::DefineBlock));
  w.varint(b.vaddr);
  if (features_ & feature::kPhysPc) w.varint(b.paddr);
  w.varint(b.insn_count);
  size_t off = 0;
  for (uint32_t i = 0; i < b.insn_count; i++) {
    w.u8(b.lengths[i]);
    w.bytes(b.bytes.data() + off, b.lengths[i]);
    off += b.lengths[i];
  }
  records_++;
  return l;
}

void ChunkEncoder::exec(const StaticBlock& b, uint32_t retired, const RawAccess* acc, size_t count,
                        const RawValue* values) {
  const LocalBlock& lb = local(b);
  const uint32_t local_id = lb.id, first_static = lb.first_insn;
  // Per access: mode byte, insn delta, address, frame, two values.
  ByteWriter w(&out_, &len_, 1 + 3 * kMaxVarint + count * (1 + 5 * kMaxVarint));
  bool partial = retired < b.insn_count;
  w.u8(uint8_t(partial ? RecordType::ExecPartial : RecordType::Exec));
  w.varint(local_id);
  if (partial) w.varint(retired);
  w.varint(count);
  const bool phys = features_ & feature::kPhysAddr;
  const bool with_values = (features_ & feature::kValues) && values;
  uint32_t prev_insn = 0;
  unsigned k = 0;
  for (size_t i = 0; i < count; i++) {
    const RawAccess& a = acc[i];
    k = (i > 0 && a.insn() == prev_insn) ? k + 1 : 0;
    PredictorSlot& s = slots_[size_t(first_static + a.insn()) * kSlotsPerInsn + access_slot(k)];
    uint8_t vmode;
    int64_t delta = int64_t(a.vaddr - s.last);
    if (a.vaddr == s.last + s.stride) vmode = 0;
    else if (varint_size(zigzag(delta)) <= varint_size(a.vaddr)) vmode = 1;
    else vmode = 3;
    uint8_t pmode = 0;
    uint64_t pframe = 0;
    if (phys) {
      uint64_t vpage = a.vaddr >> kPageShift;
      pframe = a.pframe();
      PhysEntry& e = phys_.at(phys_index(vpage, asid_));
      if (!(phys_.valid(e) && e.vpage == vpage && e.asid == asid_ && e.pframe == pframe)) {
        pmode = 1;
        e = PhysEntry{vpage, asid_, pframe, phys_.gen()};
      }
    }
    w.u8(uint8_t(vmode | (a.size_log2() << 2) | (a.store() ? 0x20 : 0) | (pmode << 6)));
    w.varint(a.insn() - prev_insn);
    if (vmode == 1) w.varint(zigzag(delta));
    else if (vmode == 3) w.varint(a.vaddr);
    if (pmode) w.varint(pframe);
    if (with_values) {
      w.varint(values[i].lo);
      if (a.size_log2() == 4) w.varint(values[i].hi);
    } else if (features_ & feature::kValues) {
      w.varint(0);
      if (a.size_log2() == 4) w.varint(0);
    }
    s.stride = a.vaddr - s.last;
    s.last = a.vaddr;
    prev_insn = a.insn();
    if (a.store()) stores_++; else loads_++;
  }
  insn_count_ += retired;
  records_++;
}

void ChunkParser::fail(const std::string& what, size_t at) const {
  throw TraceError(*where_ + " at payload offset " + std::to_string(at) + ": " + what);
}

uint64_t ChunkParser::varint_slow() {
  uint64_t v = 0;
  size_t start = pos_;
  for (unsigned shift = 0;; shift += 7) {
    if (pos_ >= size_) fail("varint cut short", start);
    uint8_t b = data_[pos_++];
    if (shift == 63 && b > 1) fail("varint overflows 64 bits", start);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    if (shift >= 63) fail("varint longer than 10 bytes", start);
  }
}

void ChunkParser::start(const uint8_t* data, size_t size, uint64_t features, uint8_t page_shift,
                        uint64_t first_time_ns, uint64_t expect_insns, uint32_t expect_records,
                        const std::string* where) {
  data_ = data;
  size_ = size;
  pos_ = 0;
  where_ = where;
  features_ = features;
  page_shift_ = page_shift;
  blocks_.clear();
  statics_.clear();
  markers_.clear();
  slots_.clear();
  if (features & feature::kPhysAddr) phys_.reset();
  have_pending_ = false;
  marker_mark_ = 0;
  marker_fix_.clear();
  successor_ = 0;
  successor_seen_ = false;
  have_state_ = false;
  cpl_ = 0;
  level_ = 0;
  asid_ = 0;
  now_ = first_time_ns;
  insn_count_ = 0;
  expect_insns_ = expect_insns;
  record_count_ = 0;
  expect_records_ = expect_records;
  read_ahead();
}

void ChunkParser::check_totals() const {
  if (insn_count_ > expect_insns_ || (!have_pending_ && insn_count_ != expect_insns_))
    throw TraceError(*where_ + ": chunk holds " + (have_pending_ ? "at least " : "") +
                     std::to_string(insn_count_) + " instructions, header says " + std::to_string(expect_insns_));
  if (!have_pending_ && record_count_ != expect_records_)
    throw TraceError(*where_ + ": chunk holds " + std::to_string(record_count_) + " records, header says " +
                     std::to_string(expect_records_));
}

void ChunkParser::read_ahead() {
  have_pending_ = false;
  while (pos_ < size_) {
    size_t rec_at = pos_;
    if (successor_seen_) fail("record after SUCCESSOR", rec_at);
    uint8_t type = data_[pos_++];
    record_count_++;
    switch (RecordType(type)) {
      case RecordType::DefineBlock: {
        if (blocks_.size() >= kMaxBlocksPerChunk) fail("too many blocks in chunk", rec_at);
        Block b;
        b.vaddr = varint();
        if (features_ & feature::kPhysPc) b.paddr = varint();
        uint64_t n = varint();
        if (n == 0 || n > kMaxBlockInsns) fail("block instruction count " + std::to_string(n) + " out of range", rec_at);
        b.insn_count = uint32_t(n);
        b.first_static = uint32_t(statics_.size());
        for (uint64_t i = 0; i < n; i++) {
          uint8_t len = u8();
          if (len == 0 || len > kMaxInsnLength) fail("instruction length " + std::to_string(len) + " out of range", rec_at);
          if (len > size_ - pos_) fail("record cut short", pos_);
          statics_.push_back(StaticInsn{1, len, data_ + pos_, uint64_t(len) << 16});
          pos_ += len;
        }
        blocks_.push_back(b);
        slots_.resize(statics_.size() * kSlotsPerInsn);
        break;
      }
      case RecordType::Exec:
      case RecordType::ExecPartial: {
        if (!have_state_) fail("EXEC before any STATE", rec_at);
        uint64_t id = varint();
        if (id >= blocks_.size()) fail("EXEC of undefined block " + std::to_string(id), rec_at);
        uint32_t n = blocks_[id].insn_count;
        uint64_t retired = n;
        if (RecordType(type) == RecordType::ExecPartial) {
          retired = varint();
          if (retired == 0 || retired >= n)
            fail("EXEC_PARTIAL retired count " + std::to_string(retired) + " out of range", rec_at);
        }
        uint64_t count = varint();
        if (count > kMaxAccessesPerExec) fail("access count " + std::to_string(count) + " out of range", rec_at);
        // Each access takes at least two bytes: never size buffers beyond the payload.
        if (count > (size_ - pos_) / 2) fail("access count " + std::to_string(count) + " exceeds the payload", rec_at);
        pending_ = Pending{uint32_t(id), uint32_t(retired), uint32_t(count)};
        have_pending_ = true;
        insn_count_ += retired;
        if (insn_count_ > expect_insns_) check_totals();
        return;
      }
      case RecordType::State: {
        cpl_ = u8();
        if (cpl_ > 3) fail("privilege level " + std::to_string(cpl_) + " out of range", rec_at);
        if (features_ & feature::kLevel) {
          level_ = u8();
          if (const char* why = level::problem(level_)) fail(why, rec_at);
        } else {
          level_ = level::of_cpl(cpl_);
        }
        asid_ = (features_ & feature::kAsid) ? varint() : 0;
        have_state_ = true;
        break;
      }
      case RecordType::Marker: {
        Marker m;
        uint8_t kind = u8(), source = u8();
        if (kind == 0 || kind > kMaxMarkerKind) fail("unknown marker kind " + std::to_string(kind), rec_at);
        if (source > kMaxMarkerSource) fail("unknown marker source " + std::to_string(source), rec_at);
        uint64_t id = varint();
        if (id > 0xffff) fail("marker id " + std::to_string(id) + " out of range", rec_at);
        m.kind = MarkerKind(kind);
        m.source = MarkerSource(source);
        m.id = uint16_t(id);
        m.value = varint();
        markers_.push_back(m);
        break;
      }
      case RecordType::Timestamp: {
        if (!(features_ & feature::kTimestamps)) fail("TIMESTAMP without the TIMESTAMPS feature", rec_at);
        now_ += varint();
        break;
      }
      case RecordType::Successor: {
        successor_ = varint();
        successor_seen_ = true;
        break;
      }
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02x", type);
        fail(std::string("unknown record type 0x") + buf, rec_at);
      }
    }
  }
  check_totals();
}

size_t ChunkParser::decode(std::vector<Instruction>& ins, std::vector<MemAccess>& acc, size_t max_insns,
                           size_t max_acc, uint64_t first_index, uint16_t core) {
  const bool phys = features_ & feature::kPhysAddr, values = features_ & feature::kValues;
  if (phys) return values ? decode_t<true, true>(ins, acc, max_insns, max_acc, first_index, core)
                          : decode_t<true, false>(ins, acc, max_insns, max_acc, first_index, core);
  return values ? decode_t<false, true>(ins, acc, max_insns, max_acc, first_index, core)
                : decode_t<false, false>(ins, acc, max_insns, max_acc, first_index, core);
}

namespace {
// Writes the records of one execution's n instructions, with no accesses or
// markers: in 16-byte pieces from SSE2 registers where the layout allows (the
// decoder is bound by stores; field by field takes 12 per record). `tail`
// holds core, cpl and level as they sit at offset 80.
constexpr bool kPackedRecord =
    sizeof(Instruction) == 88 && offsetof(Instruction, index) == 0 && offsetof(Instruction, pc) == 8 &&
    offsetof(Instruction, phys_pc) == 16 && offsetof(Instruction, asid) == 24 &&
    offsetof(Instruction, time_ns) == 32 && offsetof(Instruction, next_pc) == 40 &&
    offsetof(Instruction, bytes) == 48 && offsetof(Instruction, accesses) == 56 &&
    offsetof(Instruction, markers) == 64 && offsetof(Instruction, access_count) == 72 &&
    offsetof(Instruction, marker_count) == 76 && offsetof(Instruction, core) == 80 &&
    offsetof(Instruction, length) == 82 && offsetof(Instruction, cpl) == 83 &&
    offsetof(Instruction, flags) == 84 && offsetof(Instruction, level) == 85 && sizeof(void*) == 8 &&
    sizeof(ChunkParser::StaticInsn) == 32 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

inline void store_records(Instruction* in, const ChunkParser::StaticInsn* st, uint32_t n, uint64_t index,
                          uint64_t pc, bool has_phys, uint64_t phys_off, uint64_t asid, uint64_t time_ns,
                          const MemAccess* accesses, uint64_t tail) {
#if defined(__SSE2__)
  if constexpr (kPackedRecord) {
    // Lanes are {low, high}; _mm_set_epi64x takes them high first.
    __m128i index_pc = _mm_set_epi64x(int64_t(pc), int64_t(index));
    const __m128i keep_pc = _mm_set_epi64x(has_phys ? -1 : 0, 0);
    const __m128i phys_add = _mm_set_epi64x(has_phys ? int64_t(phys_off) : 0, 0);
    const __m128i asid_hi = _mm_set_epi64x(int64_t(asid), 0);
    const __m128i time_hi = _mm_set_epi64x(int64_t(time_ns), 0);
    const __m128i accesses_hi = _mm_set_epi64x(int64_t(uintptr_t(accesses)), 0);
    const __m128i zero = _mm_setzero_si128();
    char* d = reinterpret_cast<char*>(in);
    for (uint32_t j = 0; j < n; j++, d += sizeof(Instruction)) {
      const ChunkParser::StaticInsn& s = st[j];
      // {index, pc}, {phys_pc, asid}, {time_ns, next_pc}, {bytes, accesses}, 0
      const __m128i next = _mm_add_epi64(index_pc, _mm_load_si128(reinterpret_cast<const __m128i*>(&s)));
      const __m128i phys = _mm_add_epi64(_mm_and_si128(index_pc, keep_pc), phys_add);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d), index_pc);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), _mm_unpackhi_epi64(phys, asid_hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 32), _mm_unpackhi_epi64(time_hi, next));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 48),
                       _mm_add_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(&s.bytes)), accesses_hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 64), zero);
      const uint64_t t = tail | s.length_tail;
      std::memcpy(d + 80, &t, 8);
      index_pc = next;
    }
    return;
  }
#endif
  for (uint32_t j = 0; j < n; j++) {
    Instruction* r = in + j;
    r->index = index + j;
    r->pc = pc;
    r->phys_pc = has_phys ? pc + phys_off : 0;
    r->asid = asid;
    r->time_ns = time_ns;
    pc += st[j].length;
    r->next_pc = pc;
    r->bytes = st[j].bytes;
    r->accesses = accesses;
    r->markers = nullptr;
    r->access_count = 0;
    r->marker_count = 0;
    r->core = uint16_t(tail);
    r->length = uint8_t(st[j].length);
    r->cpl = uint8_t(tail >> 24);
    r->flags = 0;
    r->level = uint8_t(tail >> 40);
  }
}

constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

[[noreturn]] __attribute__((noinline, cold)) void fail_tag(const ChunkParser& cp, uint8_t tag, size_t at) {
  if (tag & 0x80) cp.fail("access tag has reserved bit set", at);
  if ((tag & 3) == 2) cp.fail("access vmode 2 is invalid", at);
  if (((tag >> 2) & 7) > 4) cp.fail("access size_log2 " + std::to_string((tag >> 2) & 7) + " out of range", at);
  cp.fail("physical frame without PHYS_ADDR", at);
}
}  // namespace

// Varints in the hot loop. With kMaxVarint bytes in reach (kBounded) no byte
// needs its own bound check and a varint of up to 8 bytes is taken apart
// without a branch per byte; longer, overlong or cut-short ones go to
// varint_slow, which reports them.
template <bool kBounded>
inline uint64_t ChunkParser::varint_at(const uint8_t*& p) {
  if constexpr (kBounded && kLittleEndian) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t stops = ~x & 0x8080808080808080ull;  // high bit clear: the last byte
    if (__builtin_expect(stops != 0, 1)) {
      const uint64_t last = stops & (0 - stops);
      x &= ((last << 1) - 1) & 0x7f7f7f7f7f7f7f7full;  // the varint's bytes, 7 bits each
      x = (x & 0x007f007f007f007full) | ((x & 0x7f007f007f007f00ull) >> 1);
      x = (x & 0x00003fff00003fffull) | ((x & 0x3fff00003fff0000ull) >> 2);
      x = (x & 0x000000000fffffffull) | ((x & 0x0fffffff00000000ull) >> 4);
      p += (unsigned(__builtin_ctzll(stops)) >> 3) + 1;
      return x;
    }
  } else if (kBounded || size_t(data_ + size_ - p) >= kMaxVarint) {
    uint64_t v = 0;
    for (unsigned i = 0; i < 9; i++) {
      const uint8_t c = p[i];
      v |= uint64_t(c & 0x7f) << (7 * i);
      if (c < 0x80) {
        p += i + 1;
        return v;
      }
    }
  }
  pos_ = size_t(p - data_);
  const uint64_t v = varint_slow();
  p = data_ + pos_;
  return v;
}

// Decodes the access list of one execution into out[0, count) and attaches
// it to its records in[0, retired). kBounded: the payload holds at least
// kMaxAccessBytes per access from p on, so only the record checks remain.
template <bool kPhys, bool kValues, bool kBounded>
const uint8_t* ChunkParser::decode_accesses(const uint8_t* p, uint32_t count, uint32_t retired, Instruction* in,
                                            MemAccess* out, PredictorSlot* slots, uint64_t asid) {
  const uint8_t* const end = data_ + size_;
  const unsigned page_shift = page_shift_;
  PhysEntry* const table = kPhys ? &phys_.at(0) : nullptr;
  const uint32_t gen = phys_.gen();
  // Tags with bits this file cannot have: reserved, PHYS_ADDR without the feature.
  const unsigned tag_limit = kPhys ? 0x80 : 0x40;
  uint64_t insn = 0;
  unsigned k = ~0u;  // index of the access within its instruction
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* const acc_at = p;
    if (!kBounded && __builtin_expect(p >= end, 0)) fail("record cut short", size_t(p - data_));
    const unsigned tag = *p++;
    const unsigned vmode = tag & 3, size_log2 = (tag >> 2) & 7;
    if (__builtin_expect(tag >= tag_limit || vmode == 2 || size_log2 > 4, 0))
      fail_tag(*this, uint8_t(tag), size_t(acc_at - data_));
    uint64_t delta;
    if (__builtin_expect((kBounded || p < end) && *p < 0x80, 1)) delta = *p++;
    else delta = varint_at<kBounded>(p);
    if (__builtin_expect(delta >= retired - insn, 0))
      fail("access names instruction beyond the retired ones", size_t(acc_at - data_));
    k = delta == 0 ? k + 1 : 0;
    insn += delta;
    // The instruction's accesses are contiguous: this one is its k-th.
    Instruction& r = in[insn];
    r.accesses = out + (i - k);
    r.access_count = k + 1;
    PredictorSlot& s = slots[insn * kSlotsPerInsn + access_slot(k)];
    const uint64_t last = s.last;
    uint64_t vaddr = last + s.stride;
    if (vmode != 0) {
      const uint64_t v = varint_at<kBounded>(p);
      vaddr = vmode == 1 ? last + uint64_t(unzigzag(v)) : v;
    }
    s.stride = vaddr - last;
    s.last = vaddr;
    MemAccess& a = out[i];
    a.vaddr = vaddr;
    if (kPhys) {
      const uint64_t vpage = vaddr >> page_shift;
      PhysEntry& ent = table[phys_index(vpage, asid)];
      uint64_t pframe;
      if (tag & 0x40) {
        pframe = varint_at<kBounded>(p);
        ent = PhysEntry{vpage, asid, pframe, gen};
      } else {
        if (__builtin_expect(!(ent.gen == gen && ent.vpage == vpage && ent.asid == asid), 0))
          fail("predicted physical frame has no mapping", size_t(acc_at - data_));
        pframe = ent.pframe;
      }
      a.paddr = (pframe << page_shift) | (vaddr & ((uint64_t(1) << page_shift) - 1));
    } else {
      a.paddr = 0;
    }
    if (kValues) {
      a.value_lo = varint_at<kBounded>(p);
      a.value_hi = size_log2 == 4 ? varint_at<kBounded>(p) : 0;
    } else {
      a.value_lo = 0;
      a.value_hi = 0;
    }
    a.size = uint8_t(1u << size_log2);
    a.is_store = tag & 0x20;
  }
  return p;
}

// The hot loop. The payload position, the pending execution and the chunk
// totals sit in locals while executions follow one another; they go back to
// the members only around read_ahead (records other than a plain EXEC) and
// at the end of the batch.
template <bool kPhys, bool kValues>
size_t ChunkParser::decode_t(std::vector<Instruction>& ins, std::vector<MemAccess>& acc, size_t max_insns,
                             size_t max_acc, uint64_t first_index, uint16_t core) {
  constexpr size_t kMaxAccessBytes = 1 + kMaxVarint * (2 + (kPhys ? 1 : 0) + (kValues ? 2 : 0));
  marker_fix_.clear();
  if (!have_pending_) return 0;
  // The loop stops once max_insns are decoded, so one more execution of the
  // longest block always fits: records need no check per execution.
  if (ins.size() < max_insns + kMaxBlockInsns) ins.resize(max_insns + kMaxBlockInsns);
  if (acc.size() < max_acc) acc.resize(max_acc);
  Instruction* const ins0 = ins.data();
  MemAccess* acc0 = acc.data();
  size_t acc_cap = acc.size();
  const uint8_t* const base = data_;
  const uint8_t* const end = data_ + size_;
  // State that only read_ahead changes, reloaded after each call.
  const Block* blocks = nullptr;
  size_t block_count = 0;
  const StaticInsn* statics_all = nullptr;
  PredictorSlot* slots_all = nullptr;
  uint64_t asid = 0, now = 0, tail_state = 0;
  bool markers_waiting = false;
  auto reload = [&] {
    blocks = blocks_.data();
    block_count = blocks_.size();
    statics_all = statics_.data();
    slots_all = slots_.data();
    asid = asid_;
    now = now_;
    // core, cpl and level as they sit in the record's last 8 bytes
    tail_state = uint64_t(core) | uint64_t(cpl_) << 24 | uint64_t(level_) << 40;
    markers_waiting = marker_mark_ != markers_.size();
  };
  reload();
  Pending pe = pending_;
  const uint8_t* p = base + pos_;
  uint64_t insn_count = insn_count_;
  uint32_t record_count = record_count_;
  bool pending = true;

  size_t ni = 0, na = 0;
  while (pending && ni < max_insns && na < max_acc) {
    const uint32_t retired = pe.retired;
    if (__builtin_expect(na + pe.access_count > acc_cap, 0)) {
      // Rare (buffers only grow): move this batch's access pointers along.
      acc.resize(std::max(na + pe.access_count, acc_cap * 2));
      for (size_t j = 0; j < ni; j++) ins0[j].accesses = acc.data() + (ins0[j].accesses - acc0);
      acc0 = acc.data();
      acc_cap = acc.size();
    }
    const Block& b = blocks[pe.block];
    Instruction* const in = ins0 + ni;
    MemAccess* const out = acc0 + na;

    // One record per retired instruction; accesses are attached below.
    store_records(in, statics_all + b.first_static, retired, first_index + ni, b.vaddr, b.paddr != 0,
                  b.paddr - b.vaddr, asid, now, out, tail_state);
    if (retired < b.insn_count) in[retired - 1].flags = insn_flag::kEndsPartialExec;
    if (__builtin_expect(markers_waiting, 0)) {
      in[0].marker_count = uint32_t(markers_.size()) - marker_mark_;
      marker_fix_.emplace_back(ni, marker_mark_);
      marker_mark_ = uint32_t(markers_.size());
      markers_waiting = false;
    }
    ni += retired;
    na += pe.access_count;

    PredictorSlot* const slots = slots_all + size_t(b.first_static) * kSlotsPerInsn;
    if (size_t(end - p) / kMaxAccessBytes >= pe.access_count)
      p = decode_accesses<kPhys, kValues, true>(p, pe.access_count, retired, in, out, slots, asid);
    else
      p = decode_accesses<kPhys, kValues, false>(p, pe.access_count, retired, in, out, slots, asid);

    // Read ahead to the next execution: a plain EXEC here, the rest in read_ahead.
    if (__builtin_expect(p < end && *p == uint8_t(RecordType::Exec), 1)) {
      // As in read_ahead, less what cannot happen here: a STATE came before
      // the first EXEC, and a SUCCESSOR is only ever read by read_ahead.
      const size_t rec_at = size_t(p - base);
      p++;
      record_count++;
      const uint64_t id = p < end && *p < 0x80 ? *p++ : varint_at<false>(p);
      if (__builtin_expect(id >= block_count, 0)) fail("EXEC of undefined block " + std::to_string(id), rec_at);
      const uint32_t n = blocks[id].insn_count;
      const uint64_t count = p < end && *p < 0x80 ? *p++ : varint_at<false>(p);
      if (__builtin_expect(count > kMaxAccessesPerExec, 0))
        fail("access count " + std::to_string(count) + " out of range", rec_at);
      if (__builtin_expect(count > size_t(end - p) / 2, 0))
        fail("access count " + std::to_string(count) + " exceeds the payload", rec_at);
      pe = Pending{uint32_t(id), n, uint32_t(count)};
      insn_count += n;
      if (__builtin_expect(insn_count > expect_insns_, 0)) {
        insn_count_ = insn_count;
        have_pending_ = true;
        check_totals();
      }
      in[retired - 1].next_pc = blocks[id].vaddr;
    } else {
      pos_ = size_t(p - base);
      insn_count_ = insn_count;
      record_count_ = record_count;
      read_ahead();
      pending = have_pending_;
      pe = pending_;
      p = base + pos_;
      insn_count = insn_count_;
      record_count = record_count_;
      reload();
      in[retired - 1].next_pc = pending ? blocks[pe.block].vaddr : successor_;
    }
  }
  pos_ = size_t(p - base);
  pending_ = pe;
  have_pending_ = pending;
  insn_count_ = insn_count;
  record_count_ = record_count;
  for (const auto& f : marker_fix_) ins0[f.first].markers = markers_.data() + f.second;
  return ni;
}

}  // namespace qemutrace::detail
