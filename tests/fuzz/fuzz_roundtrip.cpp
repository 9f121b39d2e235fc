// Fuzz target: writer -> reader round trip. The input is a program of
// writer calls (contexts, block executions with accesses, partial
// executions, markers) for a feature set and chunk size it also chooses;
// the reader must hand back exactly the stream the program wrote (the
// builder keeps it on the side). Any difference traps.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "trace_builder.h"

namespace {
struct Input {
  const uint8_t* p;
  size_t n;
  uint8_t u8() { return n ? (n--, *p++) : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | u8();
    return v;
  }
};
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qemutrace;
  Input in{data, size};
  const uint64_t features = in.u8() & feature::kKnownMask;
  test::BuilderOptions o;
  o.chunk_insns = 1 + in.u8() % 64;
  o.fast_path = in.u8() & 1;
  o.fixed_clock = true;
  test::TraceBuilder tb(features, o);
  std::vector<const StaticBlock*> blocks;
  for (int i = 0, nb = 1 + in.u8() % 8; i < nb; i++) {
    StaticBlock* b = const_cast<StaticBlock*>(tb.block(0x400000 + 0x1000 * uint64_t(in.u8()), 1 + in.u8() % 16));
    b->paddr = (features & feature::kPhysPc) ? b->vaddr + 0x100000 : 0;
    blocks.push_back(b);
  }
  tb.context(3, 0);
  for (int steps = 0; in.n && steps < 2000; steps++) {
    uint8_t op = in.u8();
    if (op < 16) {
      tb.context(op & 1 ? 0 : 3, uint64_t(in.u8()) << 12);
    } else if (op < 24) {
      tb.marker(Marker{MarkerKind(1 + in.u8() % kMaxMarkerKind), MarkerSource(in.u8() % (kMaxMarkerSource + 1)),
                       uint16_t(in.u8()), in.u64()});
    } else {
      const StaticBlock* b = blocks[op % blocks.size()];
      uint32_t retired = (op & 0x80) ? 1 + in.u8() % b->insn_count : b->insn_count;
      uint8_t pattern = in.u8();
      tb.exec(b, retired, [&](uint32_t insn, unsigned k, MemAccess* a) {
        if (k >= unsigned((pattern >> (insn % 8)) & 1) * (1u + pattern % 3)) return false;
        uint8_t how = in.u8();
        a->vaddr = (how & 1) ? in.u64() : 0x600000 + 8 * k + 64 * uint64_t(how);
        a->paddr = (uint64_t(in.u8()) << 12) | (a->vaddr & 0xfff);
        a->size = uint8_t(1u << (how >> 1) % 5);
        a->is_store = how & 0x40;
        a->value_lo = in.u64();
        a->value_hi = a->size == 16 ? in.u64() : 0;
        return true;
      });
    }
  }
  std::vector<uint8_t> bytes = tb.finish();
  CoreReader r(memory_source(bytes, "roundtrip"));
  check(r.state().has_footer);
  size_t n = 0;
  while (const Instruction* x = r.next()) {
    check(n < tb.expected.size());
    const test::ExpectedInsn& e = tb.expected[n];
    check(x->index == n && x->pc == e.pc && x->length == e.length && x->cpl == e.cpl && x->asid == e.asid);
    check(std::vector<uint8_t>(x->bytes, x->bytes + x->length) == e.bytes);
    check(x->access_count == e.accesses.size() && x->marker_count == e.markers.size());
    for (size_t k = 0; k < e.accesses.size(); k++) {
      const MemAccess &a = x->accesses[k], &b = e.accesses[k];
      check(a.vaddr == b.vaddr && a.paddr == b.paddr && a.size == b.size && a.is_store == b.is_store &&
            a.value_lo == b.value_lo && a.value_hi == b.value_hi);
    }
    for (size_t k = 0; k < e.markers.size(); k++)
      check(x->markers[k].kind == e.markers[k].kind && x->markers[k].source == e.markers[k].source &&
            x->markers[k].id == e.markers[k].id && x->markers[k].value == e.markers[k].value);
    n++;
  }
  check(n == tb.expected.size());
  check(r.tail_markers().size() == tb.tail_markers.size());
  return 0;
}
