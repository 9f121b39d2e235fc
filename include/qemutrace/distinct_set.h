// A set of 64-bit keys that only counts its distinct members: stats and
// report insert once per instruction or access, so it is open addressing
// with no per-element allocation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qemutrace {

class DistinctSet {
 public:
  DistinctSet() : slots_(1 << 12, kEmpty) {}
  void insert(uint64_t v) {
    if (v == kEmpty) { has_empty_ = true; return; }
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = hash(v) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == v) return;
      if (slots_[i] == kEmpty) { slots_[i] = v; size_++; return; }
    }
  }
  size_t size() const { return size_ + (has_empty_ ? 1 : 0); }
  // Empties the set; keeps its table when it is small, so a set reused per
  // interval does not reallocate every time.
  void clear() {
    if (slots_.size() > (1u << 16)) slots_.assign(1 << 12, kEmpty);
    else std::fill(slots_.begin(), slots_.end(), kEmpty);
    size_ = 0;
    has_empty_ = false;
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  static size_t hash(uint64_t v) { return size_t((v * 0x9E3779B97F4A7C15ull) >> 17); }
  void grow() {
    std::vector<uint64_t> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    size_ = 0;
    for (uint64_t v : old) if (v != kEmpty) insert(v);
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  bool has_empty_ = false;
};

// Data lines are 64 bytes wherever a trace's accesses are counted by line.
inline constexpr unsigned kDataLineShift = 6;

// Inserts the units of 1 << shift bytes (lines, pages) that an access of
// `size` bytes at vaddr touches: its first and, if it straddles, its last.
inline void insert_touched(DistinctSet& s, uint64_t vaddr, unsigned size, unsigned shift) {
  s.insert(vaddr >> shift);
  if (size && ((vaddr + size - 1) >> shift) != (vaddr >> shift)) s.insert((vaddr + size - 1) >> shift);
}

}  // namespace qemutrace
