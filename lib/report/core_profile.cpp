// One core's counts for the report: intervals, mix, footprint, markers,
// regions and per-PC counts, all from one pass over its file.
#include "core_profile.h"

#include <sys/stat.h>

#include "qemutrace/disasm.h"

namespace qemutrace::report_detail {
namespace {

class CoreProfiler {
 public:
  CoreProfiler(CoreReport& out, const AxisScale& scale, Isa isa, uint8_t page_shift, RunSets& run)
      : out_(out), scale_(scale), page_shift_(page_shift), run_(run) {
    out_.intervals.assign(kReportIntervals, Interval{});
    if (isa == Isa::x86_64 || isa == Isa::i386) dis_ = std::make_unique<Disassembler>(isa);
    else out_.mix.branches_known = false;
  }

  void instruction(const Instruction& in) {
    const uint64_t key = scale_.key(in);
    enter_interval(scale_.interval(key));
    for (uint32_t i = 0; i < in.marker_count; i++) marker(in.markers[i], key, in.index);
    Interval& iv = out_.intervals[cur_];
    iv.levels.add(in.level);
    InstructionMix& m = out_.mix;
    m.instructions++;
    m.levels.add(in.level);
    if (region_open_) open_.instructions++;
    auto& pc = run_.pc_counts[in.pc];
    if (pc.first++ == 0) pc.second = in.level;
    all_pcs_.insert(in.pc);
    if (dis_) {
      const DecodedInsn& d = dis_->decode(in.pc, in.bytes, in.length);
      if (!d.valid) m.undecodable++;
      if (d.branch != BranchKind::None) {
        m.branches[size_t(d.branch)]++;
        if (in.transfers()) m.taken++;
      }
      if (d.rep_string) m.rep_string++;
    }
    for (uint32_t i = 0; i < in.access_count; i++) access(in.accesses[i]);
    last_key_ = key;
    next_index_ = in.index + 1;
  }

  void finish(const std::vector<Marker>& tail) {
    for (const Marker& mk : tail) marker(mk, last_key_, next_index_);
    enter_interval(SIZE_MAX);
    if (region_open_) push_region();
    out_.distinct_pcs = all_pcs_.size();
    out_.distinct_lines = all_lines_.size();
    out_.distinct_pages = all_pages_.size();
  }

 private:
  // Closes the current interval's sets when the key moves on (keys never
  // go back on one core: indices rise, timestamps never decrease).
  void enter_interval(size_t b) {
    if (b == cur_) return;
    if (cur_ < kReportIntervals) {
      out_.intervals[cur_].lines = lines_.size();
      out_.intervals[cur_].pages = pages_.size();
    }
    lines_.clear();
    pages_.clear();
    cur_ = b;
  }

  void access(const MemAccess& a) {
    (a.is_store ? out_.mix.stores : out_.mix.loads)++;
    insert_touched(lines_, a.vaddr, a.size, kDataLineShift);
    insert_touched(all_lines_, a.vaddr, a.size, kDataLineShift);
    insert_touched(run_.lines, a.vaddr, a.size, kDataLineShift);
    insert_touched(pages_, a.vaddr, a.size, page_shift_);
    insert_touched(all_pages_, a.vaddr, a.size, page_shift_);
    insert_touched(run_.pages, a.vaddr, a.size, page_shift_);
  }

  void marker(const Marker& mk, uint64_t key, uint64_t index) {
    out_.markers[std::string(marker_kind_name(mk.kind))]++;
    if (mk.kind == MarkerKind::Discontinuity) {
      out_.intervals[scale_.interval(key)].discontinuities++;
      return;
    }
    if (out_.events.size() < kReportEventsPerCore) out_.events.push_back({key, index, mk});
    else out_.events_left_off++;
    if (mk.kind == MarkerKind::RoiBegin) {
      if (region_open_) push_region();
      open_ = Region{};
      open_.begin_key = key;
      open_.first_index = index;
      open_.begin_source = mk.source;
      open_.id = mk.id;
      region_open_ = true;
    } else if ((mk.kind == MarkerKind::RoiEnd || mk.kind == MarkerKind::LimitReached) && region_open_) {
      open_.end_key = key;
      open_.end_source = mk.source;
      open_.closed = true;
      push_region();
    }
  }
  void push_region() {
    if (!open_.closed) open_.end_key = last_key_;
    if (out_.regions.size() < kReportRegionsPerCore) out_.regions.push_back(open_);
    else out_.regions_left_off++;
    region_open_ = false;
  }

  CoreReport& out_;
  const AxisScale& scale_;
  const uint8_t page_shift_;
  RunSets& run_;
  std::unique_ptr<Disassembler> dis_;
  size_t cur_ = SIZE_MAX;
  uint64_t last_key_ = 0, next_index_ = 0;
  DistinctSet lines_, pages_;                     // this interval's
  DistinctSet all_pcs_, all_lines_, all_pages_;  // the whole file's
  Region open_;
  bool region_open_ = false;
};

}  // namespace

CoreReport profile_core(CoreReader& r, const std::string& path, const AxisScale& scale, RunSets& run) {
  CoreReport out;
  out.core = r.header().core;
  out.path = path;
  struct stat st{};
  out.bytes = ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  out.damage = r.state().damage;
  CoreProfiler p(out, scale, r.header().isa, r.header().page_shift, run);
  r.seek(0);
  while (const Instruction* in = r.next()) p.instruction(*in);
  p.finish(r.tail_markers());
  return out;
}

}  // namespace qemutrace::report_detail
