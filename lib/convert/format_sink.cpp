// The plugin path for non-binary formats: a TraceSink that assembles retired
// Instructions from block events and feeds a consumer. It holds back one
// instruction until its successor's PC is known, exactly as CoreReader fills
// next_pc, so direct and converted outputs are byte-identical.
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "qemutrace/convert.h"

namespace qemutrace {

namespace {

struct PendingAccess {
  uint32_t insn;
  MemAccess a;
};

// An instruction with storage for what its pointers refer to.
struct OwnedInsn {
  Instruction insn;
  uint8_t bytes[16] = {};
  std::vector<MemAccess> accesses;
  std::vector<Marker> markers;
  void fix_pointers() {
    insn.bytes = bytes;
    insn.accesses = accesses.empty() ? nullptr : accesses.data();
    insn.access_count = static_cast<uint32_t>(accesses.size());
    insn.markers = markers.empty() ? nullptr : markers.data();
    insn.marker_count = static_cast<uint32_t>(markers.size());
  }
};

class FormatSink final : public TraceSink {
 public:
  FormatSink(std::unique_ptr<InstructionConsumer> c, const WriterOptions& opts, uint16_t core)
      : c_(std::move(c)), opts_(opts), core_(core) {}
  ~FormatSink() override { finish(); }

  using TraceSink::set_context;
  void set_context(uint8_t cpl, uint64_t asid, uint8_t lv) override {
    cpl_ = cpl;
    asid_ = (opts_.features & feature::kAsid) ? asid : 0;
    level_ = (opts_.features & feature::kLevel) ? lv : level::of_cpl(cpl);
  }
  void begin_block(const StaticBlock* block) override {
    block_ = block;
    pending_.clear();
  }
  void access(uint32_t insn, uint64_t vaddr, uint64_t paddr, unsigned size_log2, bool store,
              uint64_t value_lo, uint64_t value_hi) override {
    if (!block_ || insn >= block_->insn_count || size_log2 > 4) return;
    PendingAccess p;
    p.insn = insn;
    p.a.vaddr = vaddr;
    if (opts_.features & feature::kPhysAddr) {
      // The binary format stores the physical frame; the page offset is the
      // virtual one. Do the same so both paths agree.
      const uint64_t offset_mask = (uint64_t{1} << kPageShift) - 1;
      p.a.paddr = (paddr & ~offset_mask) | (vaddr & offset_mask);
    }
    p.a.size = static_cast<uint8_t>(1u << size_log2);
    p.a.is_store = store;
    if (opts_.features & feature::kValues) {
      p.a.value_lo = value_lo;
      p.a.value_hi = p.a.size == 16 ? value_hi : 0;
    }
    pending_.push_back(p);
  }
  void end_block(uint32_t retired) override {
    const StaticBlock* b = block_;
    block_ = nullptr;
    if (!b || finished_) {
      pending_.clear();
      return;
    }
    if (retired > b->insn_count) retired = b->insn_count;
    uint64_t offset = 0;
    size_t next_access = 0;
    // Accesses arrive in program order; tolerate any order by scanning.
    bool ordered = true;
    for (size_t i = 1; i < pending_.size(); ++i)
      if (pending_[i].insn < pending_[i - 1].insn) ordered = false;
    for (uint32_t i = 0; i < retired; ++i) {
      uint8_t len = i < b->lengths.size() ? b->lengths[i] : 0;
      OwnedInsn& n = fresh();
      n.insn.pc = b->vaddr + offset;
      n.insn.phys_pc = (opts_.features & feature::kPhysPc) ? b->paddr + offset : 0;
      n.insn.length = len;
      if (offset + len <= b->bytes.size() && len <= 15)
        std::memcpy(n.bytes, b->bytes.data() + offset, len);
      if (ordered) {
        while (next_access < pending_.size() && pending_[next_access].insn == i) {
          n.accesses.push_back(pending_[next_access].a);
          ++next_access;
        }
      } else {
        for (const PendingAccess& p : pending_)
          if (p.insn == i) n.accesses.push_back(p.a);
      }
      offset += len;
      retire_current();
    }
    pending_.clear();
  }
  bool in_block() const override { return block_ != nullptr; }
  void marker(const Marker& m) override {
    if (!finished_) markers_.push_back(m);
  }
  void flush() override {
    if (!finished_) c_->flush();
  }
  bool finish() override {
    if (!finished_) {
      finished_ = true;
      if (have_held_) {
        held().insn.next_pc = 0;
        deliver_held();
      }
      for (const Marker& m : markers_) c_->tail_marker(m);
      markers_.clear();
      c_->finish();
      bytes_.store(c_->bytes_written(), std::memory_order_relaxed);
    }
    return !c_->failed();
  }
  bool failed() const override { return c_->failed(); }
  std::string error() const override { return c_->error(); }
  CoreTotals totals() const override {
    CoreTotals t;
    t.instructions = insns_.load(std::memory_order_relaxed);
    t.kernel_instructions = kernel_.load(std::memory_order_relaxed);
    t.hypervisor_instructions = hypervisor_.load(std::memory_order_relaxed);
    t.nested_instructions = nested_.load(std::memory_order_relaxed);
    t.loads = loads_.load(std::memory_order_relaxed);
    t.stores = stores_.load(std::memory_order_relaxed);
    t.bytes = bytes_.load(std::memory_order_relaxed);
    return t;
  }

 private:
  OwnedInsn& held() { return slots_[held_slot_]; }
  // The slot the next instruction is assembled in.
  OwnedInsn& fresh() {
    OwnedInsn& n = slots_[held_slot_ ^ (have_held_ ? 1 : 0)];
    n.accesses.clear();
    n.markers.clear();
    n.insn = Instruction{};
    return n;
  }
  void retire_current() {
    size_t cur = held_slot_ ^ (have_held_ ? 1 : 0);
    OwnedInsn& n = slots_[cur];
    n.insn.index = next_index_++;
    n.insn.core = core_;
    n.insn.cpl = cpl_;
    n.insn.level = level_;
    n.insn.asid = asid_;
    n.markers.swap(markers_);
    markers_.clear();
    if (have_held_) {
      held().insn.next_pc = n.insn.pc;
      deliver_held();
    }
    held_slot_ = cur;
    have_held_ = true;
  }
  void deliver_held() {
    OwnedInsn& h = held();
    h.fix_pointers();
    if (!c_->failed()) c_->consume(h.insn);
    insns_.fetch_add(1, std::memory_order_relaxed);
    if (h.insn.is_kernel()) kernel_.fetch_add(1, std::memory_order_relaxed);
    if (h.insn.is_hypervisor()) hypervisor_.fetch_add(1, std::memory_order_relaxed);
    if (h.insn.is_nested()) nested_.fetch_add(1, std::memory_order_relaxed);
    uint64_t ld = 0, st = 0;
    for (const MemAccess& a : h.accesses) (a.is_store ? st : ld)++;
    loads_.fetch_add(ld, std::memory_order_relaxed);
    stores_.fetch_add(st, std::memory_order_relaxed);
    bytes_.store(c_->bytes_written(), std::memory_order_relaxed);
    have_held_ = false;
  }

  std::unique_ptr<InstructionConsumer> c_;
  WriterOptions opts_;
  uint16_t core_;
  uint8_t cpl_ = 0, level_ = 0;
  uint64_t asid_ = 0;
  const StaticBlock* block_ = nullptr;
  std::vector<PendingAccess> pending_;
  std::vector<Marker> markers_;
  OwnedInsn slots_[2];
  size_t held_slot_ = 0;
  bool have_held_ = false;
  uint64_t next_index_ = 0;
  bool finished_ = false;
  std::atomic<uint64_t> insns_{0}, kernel_{0}, hypervisor_{0}, nested_{0}, loads_{0}, stores_{0}, bytes_{0};
};

}  // namespace

std::unique_ptr<TraceSink> make_format_sink(OutputFormat f, std::unique_ptr<ByteSink> out,
                                            const WriterOptions& opts, uint16_t core) {
  ConsumerOptions co;
  co.isa = opts.isa;
  co.features = opts.features;
  co.core = core;
  auto c = make_consumer(f, std::move(out), co);
  if (!c) return nullptr;
  return std::make_unique<FormatSink>(std::move(c), opts, core);
}

std::unique_ptr<TraceSink> make_format_sink(OutputFormat f, const std::string& path,
                                            const WriterOptions& opts, uint16_t core,
                                            std::string* error) {
  if (f == OutputFormat::Binary) {
    if (error) *error = "make_format_sink: the binary format is written by BinaryCoreWriter";
    return nullptr;
  }
  int err = 0;
  std::unique_ptr<ByteSink> sink = open_file_sink(path, &err);
  if (!sink) {
    if (error) *error = "cannot create " + path + ": " + std::strerror(err ? err : EIO);
    return nullptr;
  }
  auto s = make_format_sink(f, std::move(sink), opts, core);
  if (s && s->failed()) {
    if (error) *error = s->error();
    return nullptr;
  }
  return s;
}

}  // namespace qemutrace
