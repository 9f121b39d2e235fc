#include "chunk_codec.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>

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
  static_insns_ = 0;
  std::fill(slots_.begin(), slots_.end(), PredictorSlot{});
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
    k = (i > 0 && a.insn == prev_insn) ? k + 1 : 0;
    PredictorSlot& s = slots_[size_t(first_static + a.insn) * kSlotsPerInsn + access_slot(k)];
    uint8_t vmode;
    int64_t delta = int64_t(a.vaddr - s.last);
    if (a.vaddr == s.last + s.stride) vmode = 0;
    else if (varint_size(zigzag(delta)) <= varint_size(a.vaddr)) vmode = 1;
    else vmode = 3;
    uint8_t pmode = 0;
    uint64_t pframe = 0;
    if (phys) {
      uint64_t vpage = a.vaddr >> page_shift_;
      pframe = a.paddr >> page_shift_;
      PhysEntry& e = phys_.at(phys_index(vpage, asid_));
      if (!(phys_.valid(e) && e.vpage == vpage && e.asid == asid_ && e.pframe == pframe)) {
        pmode = 1;
        e = PhysEntry{vpage, asid_, pframe, phys_.gen()};
      }
    }
    w.u8(uint8_t(vmode | (a.size_log2 << 2) | (a.store ? 0x20 : 0) | (pmode << 6)));
    w.varint(a.insn - prev_insn);
    if (vmode == 1) w.varint(zigzag(delta));
    else if (vmode == 3) w.varint(a.vaddr);
    if (pmode) w.varint(pframe);
    if (with_values) {
      w.varint(values[i].lo);
      if (a.size_log2 == 4) w.varint(values[i].hi);
    } else if (features_ & feature::kValues) {
      w.varint(0);
      if (a.size_log2 == 4) w.varint(0);
    }
    s.stride = a.vaddr - s.last;
    s.last = a.vaddr;
    prev_insn = a.insn;
    if (a.store) stores_++; else loads_++;
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
  lengths_.clear();
  byte_offset_.clear();
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

// The body of an EXEC or EXEC_PARTIAL record whose type byte (at rec_at) was read.
#define QT_READ_EXEC_HEADER(partial, rec_at)                                                              \
  do {                                                                                                    \
    if (!have_state_) fail("EXEC before any STATE", rec_at);                                              \
    uint64_t id_ = varint();                                                                              \
    if (id_ >= blocks_.size()) fail("EXEC of undefined block " + std::to_string(id_), rec_at);            \
    uint32_t n_ = blocks_[id_].insn_count;                                                                \
    uint64_t retired_ = n_;                                                                               \
    if (partial) {                                                                                        \
      retired_ = varint();                                                                                \
      if (retired_ == 0 || retired_ >= n_)                                                                \
        fail("EXEC_PARTIAL retired count " + std::to_string(retired_) + " out of range", rec_at);          \
    }                                                                                                     \
    uint64_t count_ = varint();                                                                           \
    if (count_ > kMaxAccessesPerExec) fail("access count " + std::to_string(count_) + " out of range", rec_at); \
    /* Each access takes at least two bytes: never size buffers beyond the payload. */                    \
    if (count_ > (size_ - pos_) / 2) fail("access count " + std::to_string(count_) + " exceeds the payload", rec_at); \
    pending_.block = uint32_t(id_);                                                                       \
    pending_.retired = uint32_t(retired_);                                                                \
    pending_.access_count = uint32_t(count_);                                                             \
    have_pending_ = true;                                                                                 \
    insn_count_ += retired_;                                                                              \
    if (insn_count_ > expect_insns_) check_totals();                                                      \
  } while (0)

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
        b.first_static = uint32_t(lengths_.size());
        for (uint64_t i = 0; i < n; i++) {
          uint8_t len = u8();
          if (len == 0 || len > kMaxInsnLength) fail("instruction length " + std::to_string(len) + " out of range", rec_at);
          if (len > size_ - pos_) fail("record cut short", pos_);
          lengths_.push_back(len);
          byte_offset_.push_back(uint32_t(pos_));  // the bytes stay in the payload
          pos_ += len;
        }
        blocks_.push_back(b);
        slots_.resize(lengths_.size() * kSlotsPerInsn);
        break;
      }
      case RecordType::Exec:
      case RecordType::ExecPartial:
        QT_READ_EXEC_HEADER(RecordType(type) == RecordType::ExecPartial, rec_at);
        return;
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
// Writes a whole Instruction record with no accesses or markers in 16-byte
// pieces: the decoder is bound by stores, and field by field takes 12.
// `tail` holds core, length, cpl, flags and level as they sit at offset 80.
using V2 = uint64_t __attribute__((vector_size(16)));
constexpr bool kPackedRecord =
    sizeof(Instruction) == 88 && offsetof(Instruction, index) == 0 && offsetof(Instruction, pc) == 8 &&
    offsetof(Instruction, phys_pc) == 16 && offsetof(Instruction, asid) == 24 &&
    offsetof(Instruction, time_ns) == 32 && offsetof(Instruction, next_pc) == 40 &&
    offsetof(Instruction, bytes) == 48 && offsetof(Instruction, accesses) == 56 &&
    offsetof(Instruction, markers) == 64 && offsetof(Instruction, access_count) == 72 &&
    offsetof(Instruction, marker_count) == 76 && offsetof(Instruction, core) == 80 &&
    offsetof(Instruction, length) == 82 && offsetof(Instruction, cpl) == 83 &&
    offsetof(Instruction, flags) == 84 && offsetof(Instruction, level) == 85 && sizeof(void*) == 8 &&
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
inline void store_record(Instruction* r, uint64_t index, uint64_t pc, uint64_t phys_pc, uint64_t asid,
                         uint64_t time_ns, uint64_t next_pc, const uint8_t* bytes, const MemAccess* accesses,
                         uint64_t tail) {
  if constexpr (kPackedRecord) {
    char* d = reinterpret_cast<char*>(r);
    const V2 v0 = {index, pc}, v1 = {phys_pc, asid}, v2 = {time_ns, next_pc},
             v3 = {uint64_t(uintptr_t(bytes)), uint64_t(uintptr_t(accesses))}, v4 = {0, 0};
    std::memcpy(d, &v0, 16);
    std::memcpy(d + 16, &v1, 16);
    std::memcpy(d + 32, &v2, 16);
    std::memcpy(d + 48, &v3, 16);
    std::memcpy(d + 64, &v4, 16);
    std::memcpy(d + 80, &tail, 8);
  } else {
    r->index = index;
    r->pc = pc;
    r->phys_pc = phys_pc;
    r->asid = asid;
    r->time_ns = time_ns;
    r->next_pc = next_pc;
    r->bytes = bytes;
    r->accesses = accesses;
    r->markers = nullptr;
    r->access_count = 0;
    r->marker_count = 0;
    r->core = uint16_t(tail);
    r->length = uint8_t(tail >> 16);
    r->cpl = uint8_t(tail >> 24);
    r->flags = uint8_t(tail >> 32);
    r->level = uint8_t(tail >> 40);
  }
}

[[noreturn]] __attribute__((noinline, cold)) void fail_tag(const ChunkParser& cp, uint8_t tag, size_t at) {
  if (tag & 0x80) cp.fail("access tag has reserved bit set", at);
  if ((tag & 3) == 2) cp.fail("access vmode 2 is invalid", at);
  if (((tag >> 2) & 7) > 4) cp.fail("access size_log2 " + std::to_string((tag >> 2) & 7) + " out of range", at);
  cp.fail("physical frame without PHYS_ADDR", at);
}
}  // namespace

// The hot loop. The payload position, tables and predictors sit in locals
// while accesses are decoded, so storing decoded accesses does not force
// them back to memory.
template <bool kPhys, bool kValues>
size_t ChunkParser::decode_t(std::vector<Instruction>& ins, std::vector<MemAccess>& acc, size_t max_insns,
                             size_t max_acc, uint64_t first_index, uint16_t core) {
  const uint8_t* const base = data_;
  const uint8_t* const end = data_ + size_;
  const unsigned page_shift = page_shift_;
  const uint64_t page_mask = (uint64_t(1) << page_shift) - 1;
  PhysEntry* const table = kPhys ? &phys_.at(0) : nullptr;
  const uint32_t gen = phys_.gen();
  size_t ni = 0, na = 0;
  marker_fix_.clear();
  while (have_pending_ && ni < max_insns && na < max_acc) {
    const Pending pe = pending_;
    const uint32_t retired = pe.retired;
    if (na + pe.access_count > acc.size()) {
      // Rare (buffers only grow): move this batch's access pointers along.
      const MemAccess* old = acc.data();
      acc.resize(std::max(na + pe.access_count, acc.size() * 2));
      for (size_t j = 0; j < ni; j++) ins[j].accesses = acc.data() + (ins[j].accesses - old);
    }
    if (ni + retired > ins.size()) ins.resize(std::max(ni + retired, ins.size() * 2));
    const Block& b = blocks_[pe.block];
    Instruction* const in = ins.data() + ni;
    MemAccess* const out = acc.data() + na;
    const uint64_t asid = asid_;

    // One record per retired instruction; accesses are attached below.
    {
      const uint8_t* const lens = lengths_.data() + b.first_static;
      const uint32_t* const offs = byte_offset_.data() + b.first_static;
      const uint64_t phys_off = b.paddr - b.vaddr, now = now_;
      const bool has_phys = b.paddr != 0;
      const uint8_t cpl = cpl_;
      uint64_t pc = b.vaddr, index = first_index + ni;
      // core, length, cpl, flags, level
      const uint64_t tail = uint64_t(core) | uint64_t(cpl) << 24 | uint64_t(level_) << 40;
      for (uint32_t j = 0; j < retired; j++) {
        const uint8_t len = lens[j];
        const uint64_t next = pc + len;
        const uint8_t* bytes = base + offs[j];
        store_record(in + j, index++, pc, has_phys ? pc + phys_off : 0, asid, now, next, bytes, out,
                     tail | uint64_t(len) << 16);
        pc = next;
      }
    }
    if (retired < b.insn_count) in[retired - 1].flags = insn_flag::kEndsPartialExec;
    if (marker_mark_ != markers_.size()) {
      in[0].marker_count = uint32_t(markers_.size()) - marker_mark_;
      marker_fix_.emplace_back(ni, marker_mark_);
      marker_mark_ = uint32_t(markers_.size());
    }
    ni += retired;
    na += pe.access_count;

    const uint8_t* p = base + pos_;
    auto varint_p = [&]() -> uint64_t {
      if (__builtin_expect(p < end && *p < 0x80, 1)) return *p++;
      // Addresses and frames take several bytes: with ten in reach no byte
      // needs its own bound check. Overlong or cut-short ones are reported
      // by varint_slow.
      if (__builtin_expect(end - p >= 10, 1)) {
        uint64_t v = *p & 0x7f;
        for (unsigned i = 1; i < 9; i++) {
          const uint8_t c = p[i];
          v |= uint64_t(c & 0x7f) << (7 * i);
          if (c < 0x80) {
            p += i + 1;
            return v;
          }
        }
      }
      pos_ = size_t(p - base);
      uint64_t v = varint_slow();
      p = base + pos_;
      return v;
    };
    PredictorSlot* const slots = slots_.data() + size_t(b.first_static) * kSlotsPerInsn;
    uint32_t insn = 0;
    unsigned k = 0;
    for (uint32_t i = 0, count = pe.access_count; i < count; i++) {
      const uint8_t* acc_at = p;
      if (__builtin_expect(p >= end, 0)) fail("record cut short", size_t(p - base));
      uint8_t tag = *p++;
      uint8_t vmode = tag & 3, size_log2 = (tag >> 2) & 7;
      if (__builtin_expect((tag & 0x80) || vmode == 2 || size_log2 > 4 || (!kPhys && (tag & 0x40)), 0))
        fail_tag(*this, tag, size_t(acc_at - base));
      uint64_t delta = varint_p();
      if (__builtin_expect(delta >= retired - insn, 0))
        fail("access names instruction beyond the retired ones", size_t(acc_at - base));
      k = (delta == 0 && i > 0) ? k + 1 : 0;
      insn += uint32_t(delta);
      Instruction& r = in[insn];
      if (k == 0) r.accesses = out + i;
      r.access_count++;
      PredictorSlot& s = slots[size_t(insn) * kSlotsPerInsn + access_slot(k)];
      uint64_t last = s.last, vaddr;
      if (vmode == 0) vaddr = last + s.stride;
      else if (vmode == 1) vaddr = last + uint64_t(unzigzag(varint_p()));
      else vaddr = varint_p();
      s.stride = vaddr - last;
      s.last = vaddr;
      MemAccess a;
      a.vaddr = vaddr;
      a.size = uint8_t(1u << size_log2);
      a.is_store = tag & 0x20;
      if (kPhys) {
        uint64_t vpage = vaddr >> page_shift;
        PhysEntry& ent = table[phys_index(vpage, asid)];
        uint64_t pframe;
        if (tag & 0x40) {
          pframe = varint_p();
          ent = PhysEntry{vpage, asid, pframe, gen};
        } else {
          if (__builtin_expect(!(ent.gen == gen && ent.vpage == vpage && ent.asid == asid), 0))
            fail("predicted physical frame has no mapping", size_t(acc_at - base));
          pframe = ent.pframe;
        }
        a.paddr = (pframe << page_shift) | (vaddr & page_mask);
      }
      if (kValues) {
        a.value_lo = varint_p();
        if (size_log2 == 4) a.value_hi = varint_p();
      }
      out[i] = a;
    }
    pos_ = size_t(p - base);

    // Read ahead to the next execution: a plain EXEC inline, the rest out of line.
    if (pos_ < size_ && data_[pos_] == uint8_t(RecordType::Exec)) {
      size_t rec_at = pos_++;
      record_count_++;
      QT_READ_EXEC_HEADER(false, rec_at);
    } else {
      read_ahead();
    }
    in[retired - 1].next_pc = have_pending_ ? blocks_[pending_.block].vaddr : successor_;
  }
  for (const auto& f : marker_fix_) ins[f.first].markers = markers_.data() + f.second;
  return ni;
}

#undef QT_READ_EXEC_HEADER

}  // namespace qemutrace::detail
