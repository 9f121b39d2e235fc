// Synthetic event streams shaped like real programs, for format benchmarks:
// a compute loop, a pointer chase over a large working set, and a streaming
// kernel. Each feeds a TraceSink and returns the instructions it retired.
#pragma once

#include <cstdint>
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "qemutrace/writer.h"

namespace qemutrace::bench {

enum class Shape { Loop, Chase, Stream };

inline const char* shape_name(Shape s) {
  return s == Shape::Loop ? "loop" : s == Shape::Chase ? "chase" : "stream";
}

inline StaticBlock make_block(uint64_t vaddr, uint32_t id, std::vector<uint8_t> lengths) {
  StaticBlock b;
  b.vaddr = vaddr;
  b.id = id;
  b.insn_count = uint32_t(lengths.size());
  for (uint8_t l : lengths)
    for (uint8_t k = 0; k < l; k++) b.bytes.push_back(uint8_t(0x40 + k));
  b.lengths = std::move(lengths);
  return b;
}

struct Synthetic {
  StaticBlock loop = make_block(0x401000, 0, {3, 4, 3, 2});        // add, load stride 8, dec, jnz
  StaticBlock chase = make_block(0x402000, 1, {4, 3, 3, 2});       // mov (%rax),%rax; ...
  StaticBlock stream = make_block(0x403000, 2, {5, 5, 4, 5, 4, 3, 2});  // 2 loads, 1 store
  std::vector<uint64_t> perm;  // pointer-chase successor of each 64-byte node

  Synthetic() {
    // A random cyclic permutation over 64 MiB of 64-byte nodes.
    const size_t nodes = (64u << 20) / 64;
    std::vector<uint32_t> order(nodes);
    for (size_t i = 0; i < nodes; i++) order[i] = uint32_t(i);
    std::mt19937_64 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    perm.resize(nodes);
    for (size_t i = 0; i < nodes; i++) perm[order[i]] = order[(i + 1) % nodes];
  }

  // Physical frames: a fixed scrambling of virtual pages, as a kernel would.
  static uint64_t phys(uint64_t v) { return (((v >> 12) * 0x9E3779B1ull) & 0xfffff) << 12 | (v & 0xfff); }

  uint64_t run(Shape s, TraceSink& sink, uint64_t insns) {
    sink.set_context(3, 0x1000);
    uint64_t done = 0, i = 0, node = 0;
    while (done < insns) {
      switch (s) {
        case Shape::Loop: {
          sink.begin_block(&loop);
          uint64_t a = 0x10000000 + 8 * (i % (1 << 16));
          sink.access(1, a, phys(a), 3, false);
          sink.end_block(4);
          done += 4;
          break;
        }
        case Shape::Chase: {
          sink.begin_block(&chase);
          uint64_t a = 0x20000000 + 64 * node;
          node = perm[node];
          sink.access(0, a, phys(a), 3, false);
          sink.end_block(4);
          done += 4;
          break;
        }
        case Shape::Stream: {
          sink.begin_block(&stream);
          uint64_t off = 8 * (i % (4u << 20));
          sink.access(0, 0x30000000 + off, phys(0x30000000 + off), 3, false);
          sink.access(1, 0x40000000 + off, phys(0x40000000 + off), 3, false);
          sink.access(3, 0x50000000 + off, phys(0x50000000 + off), 3, true);
          sink.end_block(7);
          done += 7;
          break;
        }
      }
      i++;
    }
    return done;
  }
};

}  // namespace qemutrace::bench
