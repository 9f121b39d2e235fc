// SimPoint basic-block vectors (docs/simulator-formats.md, "Basic-block
// vectors"): one line per interval of instructions, `T:id:count ...`, as
// QEMU's contrib bbv plugin and Valgrind's exp-bbv write them.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "qemutrace/convert.h"
#include "qemutrace/disasm.h"

namespace qemutrace {

namespace {

class BbvConsumer final : public InstructionConsumer {
 public:
  BbvConsumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& o)
      : out_(std::move(out)), dis_(o.isa), interval_(o.bbv_interval ? o.bbv_interval : kDefaultBbvInterval) {}

  void consume(const Instruction& insn) override {
    if (failed_ || finished_) return;
    // A marker means the previous instruction did not lead here
    // (interrupt, exception, a gap in tracing): its block ended there.
    if (insn.marker_count) end_block();
    if (block_len_ == 0) block_pc_ = insn.pc;
    ++block_len_;
    ++count_;
    const bool branch = dis_.decode(insn.pc, insn.bytes, insn.length).branch != BranchKind::None;
    if (branch || insn.transfers()) end_block();
  }
  void tail_marker(const Marker&) override {}
  void flush() override { drain(); }
  bool finish() override {
    if (!finished_) {
      end_block();  // a last partial interval is not written (as QEMU and Valgrind)
      finished_ = true;
      drain();
      out_.reset();
    }
    return !failed_;
  }
  bool failed() const override { return failed_; }
  std::string error() const override { return error_; }
  uint64_t instructions() const override { return count_; }
  uint64_t bytes_written() const override { return written_; }

 private:
  // Blocks are numbered from 1 in the order they first complete; a block is
  // known by the PC it was entered at.
  void end_block() {
    if (block_len_ == 0) return;
    auto [it, fresh] = ids_.emplace(block_pc_, uint32_t(counts_.size()));
    if (fresh) counts_.push_back(0);
    if (counts_[it->second] == 0) touched_.push_back(it->second);
    counts_[it->second] += block_len_;
    in_interval_ += block_len_;
    block_len_ = 0;
    // The interval is checked where a block ends; what exceeds it counts
    // towards the next one (QEMU's plugin subtracts the interval too).
    if (in_interval_ >= interval_) {
      in_interval_ -= interval_;
      write_interval();
    }
  }

  void write_interval() {
    std::sort(touched_.begin(), touched_.end());
    buf_.push_back('T');
    for (uint32_t i : touched_) {
      buf_ += ':' + std::to_string(i + 1) + ':' + std::to_string(counts_[i]) + ' ';
      counts_[i] = 0;
    }
    buf_.push_back('\n');
    touched_.clear();
    if (buf_.size() >= (1u << 20)) drain();
  }

  void drain() {
    if (failed_ || buf_.empty() || !out_) return;
    int err = 0;
    if (!out_->write(buf_.data(), buf_.size(), &err)) {
      failed_ = true;
      error_ = out_->name() + ": " + std::strerror(err ? err : EIO);
    } else {
      written_ += buf_.size();
    }
    buf_.clear();
  }

  std::unique_ptr<ByteSink> out_;
  Disassembler dis_;
  const uint64_t interval_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // entry PC -> id - 1
  std::vector<uint64_t> counts_;                // by id - 1, this interval
  std::vector<uint32_t> touched_;               // ids - 1 with a count this interval
  uint64_t block_pc_ = 0, block_len_ = 0, in_interval_ = 0;
  uint64_t count_ = 0, written_ = 0;
  std::string buf_, error_;
  bool failed_ = false, finished_ = false;
};

}  // namespace

std::unique_ptr<InstructionConsumer> make_bbv_consumer(std::unique_ptr<ByteSink> out, const ConsumerOptions& opts) {
  return std::make_unique<BbvConsumer>(std::move(out), opts);
}

}  // namespace qemutrace
