// The invariants of docs/trace-format.md ("Invariants") over one core's
// instruction stream.
#include "qemutrace/invariants.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace qemutrace {
namespace {
std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#" PRIx64, v);
  return b;
}
}  // namespace

InvariantChecker::InvariantChecker(Isa isa, bool finished) : dis_(isa), finished_(finished) {}
InvariantChecker::~InvariantChecker() = default;

void InvariantChecker::fail(uint64_t index, uint64_t pc, const std::string& what) const {
  throw InvariantError("instruction " + std::to_string(index) + " at " + hex(pc) + ": " + what);
}

bool InvariantChecker::markers(const Marker* m, size_t n, uint64_t at) {
  bool explains = false;
  for (size_t i = 0; i < n; i++) {
    const char* where = "before instruction ";
    switch (m[i].kind) {
      case MarkerKind::RoiBegin:
        if (in_region_)
          throw InvariantError("ROI_BEGIN " + std::string(where) + std::to_string(at) +
                               " opens a region while the one begun before instruction " +
                               std::to_string(region_begin_) + " is still open");
        in_region_ = true;
        region_begin_ = at;
        break;
      case MarkerKind::RoiEnd:
      case MarkerKind::LimitReached:
        if (!in_region_)
          throw InvariantError(std::string(m[i].kind == MarkerKind::RoiEnd ? "ROI_END " : "LIMIT_REACHED ") +
                               where + std::to_string(at) + " closes no open region");
        in_region_ = false;
        break;
      default:
        break;
    }
    explains = true;  // every marker kind may stand between two instructions that do not follow
  }
  return explains;
}

const InvariantChecker::Successors& InvariantChecker::successors(uint64_t pc, const uint8_t* bytes, uint8_t len) {
  Successors& e = cache_[(pc ^ (pc >> 12)) & (kCacheSize - 1)];
  if (e.pc == pc && e.len == len && std::memcmp(e.bytes, bytes, len) == 0) return e;
  const DecodedInsn& d = dis_.decode(pc, bytes, len);
  e.pc = pc;
  e.len = len;
  std::memcpy(e.bytes, bytes, len);
  e.decodes = d.valid;
  e.kind = d.branch;
  e.has_target = d.has_target;
  e.target = d.target;
  e.rep = d.text.compare(0, 3, "rep") == 0;
  return e;
}

void InvariantChecker::check_flow(const Instruction& in) {
  const uint64_t fall = prev_pc_ + prev_len_;
  if (in.pc == fall) return;
  if (prev_flags_ & insn_flag::kEndsPartialExec)
    fail(prev_index_, prev_pc_,
         "an EXEC_PARTIAL ends here, but the next instruction runs at " + hex(in.pc) +
             ", not at its fall-through " + hex(fall) + ", and no DISCONTINUITY, ROI_END or LIMIT_REACHED comes between");
  if (!prev_succ_) {
    if (!prev_bytes_kept_) return;  // cannot happen: the reader said it falls through
    prev_succ_ = &successors(prev_pc_, prev_bytes_, prev_len_);
  }
  const Successors& s = *prev_succ_;
  if (!s.decodes) return;  // its successor cannot be known from its bytes
  auto text = [&] { return dis_.decode(s.pc, s.bytes, s.len).text; };
  switch (s.kind) {
    case BranchKind::None:
      // A REP string instruction split into several retired instances.
      if (in.pc == prev_pc_ && s.rep) return;
      fail(prev_index_, prev_pc_,
           "'" + text() + "' is no branch, yet the next instruction runs at " + hex(in.pc) + " (fall-through " +
               hex(fall) + ") with no DISCONTINUITY marker between");
    case BranchKind::DirectJump:
    case BranchKind::DirectCall:
    case BranchKind::Conditional:
      if (s.has_target && in.pc == s.target) return;
      fail(prev_index_, prev_pc_,
           "direct branch '" + text() + "' is followed by " + hex(in.pc) +
               ", neither its target nor its fall-through, with no DISCONTINUITY marker between");
    default:
      return;  // indirect, return, interrupt-like: any successor
  }
}

void InvariantChecker::check(const Instruction& in) {
  if (in.index != counts_.instructions)
    fail(in.index, in.pc, "index where " + std::to_string(counts_.instructions) + " was due");
  if (in.time_ns < last_time_) fail(in.index, in.pc, "timestamp goes backwards");
  if (in.length == 0 || in.length > kMaxInsnLength)
    fail(in.index, in.pc, "length " + std::to_string(in.length) + " out of range");
  last_time_ = in.time_ns;
  bool explained = in.marker_count && markers(in.markers, in.marker_count, in.index);
  if (!in_region_) fail(in.index, in.pc, "retired outside a region (no open ROI_BEGIN before it)");
  if (have_prev_ && !explained) check_flow(in);
  counts_.instructions++;
  counts_.kernel_instructions += in.is_kernel();
  counts_.hypervisor_instructions += in.is_hypervisor();
  counts_.nested_instructions += in.is_nested();
  for (uint32_t a = 0; a < in.access_count; a++) (in.accesses[a].is_store ? counts_.stores : counts_.loads)++;
  have_prev_ = true;
  prev_index_ = in.index;
  prev_pc_ = in.pc;
  prev_len_ = in.length;
  prev_flags_ = in.flags;
  prev_succ_ = nullptr;
  prev_bytes_kept_ = false;
  if (in.next_pc != in.pc + in.length) {
    if (in.next_pc) {
      prev_succ_ = &successors(in.pc, in.bytes, in.length);
    } else {
      std::memcpy(prev_bytes_, in.bytes, in.length);
      prev_bytes_kept_ = true;
    }
  }
}

void InvariantChecker::finish(const std::vector<Marker>& tail) {
  bool explained = markers(tail.data(), tail.size(), counts_.instructions);
  if (!finished_) return;  // a cut-short stream may stop anywhere
  if (have_prev_ && (prev_flags_ & insn_flag::kEndsPartialExec) && !explained)
    fail(prev_index_, prev_pc_, "an EXEC_PARTIAL ends the stream with no marker after it");
  if (in_region_)
    throw InvariantError("the region begun before instruction " + std::to_string(region_begin_) +
                         " is never closed (no ROI_END or LIMIT_REACHED before the end of the file)");
}

}  // namespace qemutrace
