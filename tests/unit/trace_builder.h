// Test helper: a random but reproducible event stream, written through the
// real writer into memory, with the expected instruction list kept on the
// side as the oracle the reader must reproduce.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "qemutrace/reader.h"
#include "format/lent_window.h"
#include "qemutrace/writer.h"

namespace qemutrace::test {

struct ExpectedInsn {
  uint64_t pc;
  uint8_t length;
  std::vector<uint8_t> bytes;
  uint8_t cpl;
  uint64_t asid;
  std::vector<MemAccess> accesses;
  std::vector<Marker> markers;
  uint8_t level;  // what the reader must return: the given level with feature::kLevel, else the cpl's
};

struct BuilderOptions {
  uint32_t chunk_insns = 1000;
  uint64_t seed = 1;
  // Drive the writer through the tracer's fast path (append_access without
  // values, chain_block of lent_window.h) as the tracer does: the bytes must not change.
  bool fast_path = false;
  uint32_t chunk_raw_bytes = WriterOptions{}.chunk_raw_bytes;
  bool fixed_clock = false;  // reproducible bytes
  uint64_t (*clock_ns)() = nullptr;  // overrides fixed_clock
};

class TraceBuilder {
 public:
  explicit TraceBuilder(uint64_t features, uint32_t chunk_insns = 1000, uint64_t seed = 1)
      : TraceBuilder(features, BuilderOptions{chunk_insns, seed}) {}
  TraceBuilder(uint64_t features, const BuilderOptions& o) : rng_(o.seed), fast_(o.fast_path) {
    opts_.features = features;
    opts_.chunk_insns = o.chunk_insns;
    opts_.chunk_raw_bytes = o.chunk_raw_bytes;
    if (o.fixed_clock) opts_.clock_ns = [] { return uint64_t(1234567890); };
    if (o.clock_ns) opts_.clock_ns = o.clock_ns;
    writer_ = std::make_unique<BinaryCoreWriter>(std::make_unique<MemorySink>(&bytes_), opts_, 3, nullptr);
  }

  // A block of n instructions of random lengths (1..15) at vaddr.
  const StaticBlock* block(uint64_t vaddr, uint32_t n) {
    StaticBlock& b = blocks_.emplace_back();
    b.vaddr = vaddr;
    b.id = uint32_t(blocks_.size() - 1);
    b.insn_count = n;
    for (uint32_t i = 0; i < n; i++) {
      uint8_t len = uint8_t(1 + rng_() % 15);
      b.lengths.push_back(len);
      for (uint8_t k = 0; k < len; k++) b.bytes.push_back(uint8_t(rng_()));
    }
    return &b;
  }

  void context(uint8_t cpl, uint64_t asid) { context(cpl, asid, level::of_cpl(cpl)); }
  // `lv`: level:: bits, recorded with feature::kLevel only.
  void context(uint8_t cpl, uint64_t asid, uint8_t lv) {
    end_pending();
    cpl_ = cpl;
    asid_ = asid;
    level_ = (opts_.features & feature::kLevel) ? lv : level::of_cpl(cpl);
    writer_->set_context(cpl, asid, lv);
  }

  void marker(const Marker& m) {
    end_pending();
    writer_->marker(m);
    pending_markers_.push_back(m);
  }

  // Executes `b`, retiring `retired` instructions; accesses are made by
  // `make(insn, k)` returning false to stop for that instruction.
  template <class F>
  void exec(const StaticBlock* b, uint32_t retired, F make) {
    if (pending_) {
      chain_block(*writer_, lent_window_of(*writer_), pending_retired_, b);
      pending_ = false;
    } else {
      writer_->begin_block(b);
    }
    const bool append = fast_ && !(opts_.features & feature::kValues);
    uint64_t pc = b->vaddr;
    size_t off = 0;
    for (uint32_t i = 0; i < b->insn_count; i++) {
      ExpectedInsn e{pc, b->lengths[i], {b->bytes.begin() + off, b->bytes.begin() + off + b->lengths[i]},
                     cpl_, (opts_.features & feature::kAsid) ? asid_ : 0, {}, {}, level_};
      MemAccess a;
      for (unsigned k = 0; make(i, k, &a); k++) {
        if (append) append_access(*writer_, lent_window_of(*writer_), i, a.vaddr, a.paddr, __builtin_ctz(a.size), a.is_store);
        else writer_->access(i, a.vaddr, a.paddr, __builtin_ctz(a.size), a.is_store, a.value_lo, a.value_hi);
        if (!(opts_.features & feature::kPhysAddr)) a.paddr = 0;
        if (!(opts_.features & feature::kValues)) a.value_lo = a.value_hi = 0;
        e.accesses.push_back(a);
      }
      if (i < retired) {
        if (i == 0) e.markers.swap(pending_markers_);
        expected.push_back(std::move(e));
      }
      pc += b->lengths[i];
      off += b->lengths[i];
    }
    if (fast_) {  // ended by the next exec's chain_block, or end_pending
      pending_ = true;
      pending_retired_ = retired;
    } else {
      writer_->end_block(retired);
    }
  }

  CoreTotals totals() const { return writer_->totals(); }

  std::vector<uint8_t> finish() {
    end_pending();
    writer_->finish();
    tail_markers = pending_markers_;
    return bytes_;
  }

  WriterOptions opts_;
  std::vector<ExpectedInsn> expected;
  std::vector<Marker> tail_markers;
  std::mt19937_64 rng_;

 private:
  std::vector<uint8_t> bytes_;
  std::unique_ptr<BinaryCoreWriter> writer_;
  std::deque<StaticBlock> blocks_;
  std::vector<Marker> pending_markers_;
  uint8_t cpl_ = 3, level_ = level::kUser;
  uint64_t asid_ = 0;
  bool fast_ = false;
  bool pending_ = false;  // fast path: the last exec is not ended yet
  uint32_t pending_retired_ = 0;

  void end_pending() {
    if (!pending_) return;
    writer_->end_block(pending_retired_);
    pending_ = false;
  }
};

}  // namespace qemutrace::test
