#include "chunk_codec.h"

#include <algorithm>
#include <cstdio>

#include "bytes.h"
#include "qemutrace/reader.h"

namespace qemutrace::detail {

void ChunkEncoder::start(uint64_t first_insn, uint64_t time_ns) {
  out_.clear();
  open_ = true;
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

std::vector<uint8_t> ChunkEncoder::take_payload() {
  open_ = false;
  std::vector<uint8_t> p;
  p.swap(out_);
  return p;
}

void ChunkEncoder::set_context(uint8_t cpl, uint64_t asid) {
  if (!(features_ & feature::kAsid)) asid = 0;
  if (have_context_ && cpl == cpl_ && asid == asid_) return;
  have_context_ = true;
  cpl_ = cpl;
  asid_ = asid;
  ByteWriter w(&out_);
  w.reserve(12);
  w.u8(uint8_t(RecordType::State));
  w.u8(cpl);
  if (features_ & feature::kAsid) w.varint(asid);
  records_++;
}

void ChunkEncoder::timestamp(uint64_t time_ns) {
  if (!(features_ & feature::kTimestamps) || time_ns <= time_ns_) return;
  ByteWriter w(&out_);
  w.reserve(11);
  w.u8(uint8_t(RecordType::Timestamp));
  w.varint(time_ns - time_ns_);
  time_ns_ = time_ns;
  records_++;
}

void ChunkEncoder::marker(const Marker& m) {
  ByteWriter w(&out_);
  w.reserve(24);
  w.u8(uint8_t(RecordType::Marker));
  w.u8(uint8_t(m.kind));
  w.u8(uint8_t(m.source));
  w.varint(m.id);
  w.varint(m.value);
  records_++;
}

void ChunkEncoder::successor(uint64_t pc) {
  ByteWriter w(&out_);
  w.reserve(11);
  w.u8(uint8_t(RecordType::Successor));
  w.varint(pc);
  records_++;
}

uint32_t ChunkEncoder::define_if_needed(const StaticBlock& b) {
  if (b.id >= local_epoch_.size()) {
    size_t n = std::max<size_t>(b.id + 1, local_epoch_.size() * 2);
    local_epoch_.resize(n, 0);
    local_id_.resize(n, 0);
    local_first_insn_.resize(n, 0);
  }
  if (local_epoch_[b.id] == epoch_) return local_id_[b.id];
  local_epoch_[b.id] = epoch_;
  local_id_[b.id] = blocks_defined_++;
  local_first_insn_[b.id] = static_insns_;
  static_insns_ += b.insn_count;
  size_t need = size_t(static_insns_) * kSlotsPerInsn;
  if (slots_.size() < need) slots_.resize(std::max(need, slots_.size() * 2));

  ByteWriter w(&out_);
  w.reserve(32 + b.insn_count + b.bytes.size());
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
  return local_id_[b.id];
}

void ChunkEncoder::exec(const StaticBlock& b, uint32_t retired, const RawAccess* acc, size_t count) {
  uint32_t local = define_if_needed(b);
  uint32_t first_static = local_first_insn_[b.id];
  ByteWriter w(&out_);
  w.reserve(24 + count * 40);
  bool partial = retired < b.insn_count;
  w.u8(uint8_t(partial ? RecordType::ExecPartial : RecordType::Exec));
  w.varint(local);
  if (partial) w.varint(retired);
  w.varint(count);
  const bool phys = features_ & feature::kPhysAddr;
  const bool values = features_ & feature::kValues;
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
    if (values) {
      w.varint(a.value_lo);
      if (a.size_log2 == 4) w.varint(a.value_hi);
    }
    s.stride = a.vaddr - s.last;
    s.last = a.vaddr;
    prev_insn = a.insn;
    if (a.store) stores_++; else loads_++;
  }
  insn_count_ += retired;
  records_++;
}

namespace {

// Bounds-checked payload cursor; every failure names the payload offset.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, const std::string& where) : p_(p), n_(n), where_(where) {}
  bool done() const { return pos_ >= n_; }
  size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& what, size_t at) const {
    throw TraceError(where_ + " at payload offset " + std::to_string(at) + ": " + what);
  }
  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }
  __attribute__((always_inline)) uint8_t u8() {
    if (pos_ >= n_) fail("record cut short");
    return p_[pos_++];
  }
  __attribute__((always_inline)) uint64_t varint() {
    if (pos_ < n_ && p_[pos_] < 0x80) return p_[pos_++];  // most fields fit one byte
    return varint_slow();
  }
  uint64_t varint_slow() {
    uint64_t v = 0;
    size_t start = pos_;
    for (unsigned shift = 0;; shift += 7) {
      if (pos_ >= n_) fail("varint cut short", start);
      uint8_t b = p_[pos_++];
      if (shift == 63 && b > 1) fail("varint overflows 64 bits", start);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      if (shift >= 63) fail("varint longer than 10 bytes", start);
    }
  }
  const uint8_t* take(size_t n) {
    if (n > n_ - pos_) fail("record cut short");
    const uint8_t* r = p_ + pos_;
    pos_ += n;
    return r;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& where_;
};

}  // namespace

void decode_chunk(const uint8_t* data, size_t size, uint64_t features, uint8_t page_shift,
                  uint64_t first_time_ns, const std::string& where, DecodedChunk* out) {
  DecodedChunk& d = *out;
  d.blocks.clear();
  d.lengths.clear();
  d.byte_offset.clear();
  d.bytes.clear();
  d.execs.clear();
  d.accesses.clear();
  d.access_insn.clear();
  d.markers.clear();
  d.successor = 0;
  d.insn_count = 0;
  d.record_count = 0;

  Cursor c(data, size, where);
  std::vector<PredictorSlot>& slots = d.slots;
  slots.clear();
  PhysTable& phys = d.phys;
  const bool has_phys = features & feature::kPhysAddr;
  const bool has_values = features & feature::kValues;
  const bool has_asid = features & feature::kAsid;
  if (has_phys) phys.reset();
  const uint64_t page_mask = (uint64_t(1) << page_shift) - 1;
  bool have_state = false;
  uint8_t cpl = 0;
  uint64_t asid = 0;
  uint64_t now = first_time_ns;
  uint32_t marker_mark = 0;
  bool successor_seen = false;

  while (!c.done()) {
    size_t rec_at = c.pos();
    if (successor_seen) c.fail("record after SUCCESSOR", rec_at);
    uint8_t type = c.u8();
    d.record_count++;
    switch (RecordType(type)) {
      case RecordType::DefineBlock: {
        if (d.blocks.size() >= kMaxBlocksPerChunk) c.fail("too many blocks in chunk", rec_at);
        DecodedChunk::Block b;
        b.vaddr = c.varint();
        if (features & feature::kPhysPc) b.paddr = c.varint();
        uint64_t n = c.varint();
        if (n == 0 || n > kMaxBlockInsns) c.fail("block instruction count " + std::to_string(n) + " out of range", rec_at);
        b.insn_count = uint32_t(n);
        b.first_static = uint32_t(d.lengths.size());
        for (uint64_t i = 0; i < n; i++) {
          uint8_t len = c.u8();
          if (len == 0 || len > kMaxInsnLength) c.fail("instruction length " + std::to_string(len) + " out of range", rec_at);
          const uint8_t* bytes = c.take(len);
          d.lengths.push_back(len);
          d.byte_offset.push_back(uint32_t(d.bytes.size()));
          d.bytes.insert(d.bytes.end(), bytes, bytes + len);
        }
        d.blocks.push_back(b);
        slots.resize(d.lengths.size() * kSlotsPerInsn);
        break;
      }
      case RecordType::Exec:
      case RecordType::ExecPartial: {
        if (!have_state) c.fail("EXEC before any STATE", rec_at);
        uint64_t id = c.varint();
        if (id >= d.blocks.size()) c.fail("EXEC of undefined block " + std::to_string(id), rec_at);
        const auto& b = d.blocks[id];
        uint64_t retired = b.insn_count;
        if (RecordType(type) == RecordType::ExecPartial) {
          retired = c.varint();
          if (retired == 0 || retired >= b.insn_count)
            c.fail("EXEC_PARTIAL retired count " + std::to_string(retired) + " out of range", rec_at);
        }
        uint64_t count = c.varint();
        if (count > kMaxAccessesPerExec) c.fail("access count " + std::to_string(count) + " out of range", rec_at);
        DecodedChunk::Exec e;
        e.block = uint32_t(id);
        e.retired = uint32_t(retired);
        e.cpl = cpl;
        e.asid = asid;
        e.time_ns = now;
        e.marker_begin = marker_mark;
        e.marker_end = uint32_t(d.markers.size());
        marker_mark = e.marker_end;
        e.access_begin = uint32_t(d.accesses.size());
        uint32_t insn = 0;
        unsigned k = 0;
        for (uint64_t i = 0; i < count; i++) {
          size_t acc_at = c.pos();
          uint8_t tag = c.u8();
          uint8_t vmode = tag & 3, size_log2 = (tag >> 2) & 7, pmode = (tag >> 6) & 1;
          if (tag & 0x80) c.fail("access tag has reserved bit set", acc_at);
          if (vmode == 2) c.fail("access vmode 2 is invalid", acc_at);
          if (size_log2 > 4) c.fail("access size_log2 " + std::to_string(size_log2) + " out of range", acc_at);
          if (pmode && !has_phys) c.fail("physical frame without PHYS_ADDR", acc_at);
          uint64_t delta = c.varint();
          if (delta >= retired - insn)
            c.fail("access names instruction beyond the retired ones", acc_at);
          k = (i > 0 && delta == 0) ? k + 1 : 0;
          insn += uint32_t(delta);
          PredictorSlot& s = slots[size_t(b.first_static + insn) * kSlotsPerInsn + access_slot(k)];
          uint64_t vaddr;
          if (vmode == 0) vaddr = s.last + s.stride;
          else if (vmode == 1) vaddr = s.last + uint64_t(unzigzag(c.varint()));
          else vaddr = c.varint();
          s.stride = vaddr - s.last;
          s.last = vaddr;
          MemAccess a;
          a.vaddr = vaddr;
          a.size = uint8_t(1u << size_log2);
          a.is_store = tag & 0x20;
          if (has_phys) {
            uint64_t vpage = vaddr >> page_shift;
            PhysEntry& pe = phys.at(phys_index(vpage, asid));
            uint64_t pframe;
            if (pmode) {
              pframe = c.varint();
              pe = PhysEntry{vpage, asid, pframe, phys.gen()};
            } else {
              if (!(phys.valid(pe) && pe.vpage == vpage && pe.asid == asid))
                c.fail("predicted physical frame has no mapping", acc_at);
              pframe = pe.pframe;
            }
            a.paddr = (pframe << page_shift) | (vaddr & page_mask);
          }
          if (has_values) {
            a.value_lo = c.varint();
            if (size_log2 == 4) a.value_hi = c.varint();
          }
          d.accesses.push_back(a);
          d.access_insn.push_back(insn);
        }
        e.access_end = uint32_t(d.accesses.size());
        d.execs.push_back(e);
        d.insn_count += retired;
        break;
      }
      case RecordType::State: {
        cpl = c.u8();
        if (cpl > 3) c.fail("privilege level " + std::to_string(cpl) + " out of range", rec_at);
        asid = has_asid ? c.varint() : 0;
        have_state = true;
        break;
      }
      case RecordType::Marker: {
        Marker m;
        uint8_t kind = c.u8(), source = c.u8();
        if (kind == 0 || kind > kMaxMarkerKind) c.fail("unknown marker kind " + std::to_string(kind), rec_at);
        if (source > kMaxMarkerSource) c.fail("unknown marker source " + std::to_string(source), rec_at);
        uint64_t id = c.varint();
        if (id > 0xffff) c.fail("marker id " + std::to_string(id) + " out of range", rec_at);
        m.kind = MarkerKind(kind);
        m.source = MarkerSource(source);
        m.id = uint16_t(id);
        m.value = c.varint();
        d.markers.push_back(m);
        break;
      }
      case RecordType::Timestamp: {
        if (!(features & feature::kTimestamps)) c.fail("TIMESTAMP without the TIMESTAMPS feature", rec_at);
        now += c.varint();
        break;
      }
      case RecordType::Successor: {
        d.successor = c.varint();
        successor_seen = true;
        break;
      }
      default:
        c.fail("unknown record type 0x" + [&] {
          char buf[8];
          std::snprintf(buf, sizeof buf, "%02x", type);
          return std::string(buf);
        }(), rec_at);
    }
  }
  d.tail_marker_begin = marker_mark;
}

}  // namespace qemutrace::detail
