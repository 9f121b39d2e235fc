// What `qemutrace report` shows of a run, aggregated from its trace files
// and manifest in bounded memory: a fixed number of intervals per core, the
// top-N PCs and bounded event lists, whatever the run's length. The page
// writer (lib/report/html_page.cpp) only formats this.
//
// Part of the tools library (lib/report): not installed.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qemutrace/disasm.h"
#include "qemutrace/format.h"
#include "qemutrace/trace_counts.h"
#include "qemutrace/types.h"

namespace qemutrace {

// Bounds of what the report keeps.
inline constexpr size_t kReportIntervals = 120;
inline constexpr size_t kReportHotPcs = 25;
inline constexpr size_t kReportEventsPerCore = 400;
inline constexpr size_t kReportRegionsPerCore = 400;
inline constexpr size_t kReportManifestEvents = 400;

// How intervals are measured: host time since the run's first instruction
// (every file has timestamps) or instruction index per core.
enum class Axis : uint8_t { TimeNs, Instructions };

struct Interval {
  LevelCounts levels;  // instructions by level
  uint64_t lines = 0;  // distinct cache lines accessed in the interval (exact)
  uint64_t pages = 0;  // distinct pages accessed in the interval (exact)
  uint64_t discontinuities = 0;
};

struct InstructionMix {
  uint64_t instructions = 0, loads = 0, stores = 0;
  LevelCounts levels;
  // Indexed by BranchKind; [None] is unused. Counted from the bytes.
  std::array<uint64_t, 8> branches{};
  uint64_t taken = 0;       // branches whose next PC is not the fall-through
  uint64_t rep_string = 0;  // retired instances of REP string instructions
  uint64_t undecodable = 0;
  bool branches_known = true;  // false for an ISA the disassembler lacks
};

// A marker at a position on the axis (key) and in the core's stream.
struct ReportEvent {
  uint64_t key = 0;
  uint64_t index = 0;
  Marker marker;
};

// A traced region: ROI_BEGIN up to ROI_END or LIMIT_REACHED (for a sampled
// run, one window).
struct Region {
  uint64_t begin_key = 0, end_key = 0;
  uint64_t first_index = 0, instructions = 0;
  MarkerSource begin_source = MarkerSource::None, end_source = MarkerSource::None;
  uint16_t id = 0;
  bool closed = false;
};

struct CoreReport {
  int core = 0;
  std::string path;
  uint64_t bytes = 0;
  std::string damage;  // what was lost, empty when the file is intact
  InstructionMix mix;
  uint64_t distinct_pcs = 0, distinct_lines = 0, distinct_pages = 0;
  std::map<std::string, uint64_t> markers;  // by marker kind name
  std::vector<Interval> intervals;          // kReportIntervals
  std::vector<ReportEvent> events;          // ROI, limit, skip and error markers
  uint64_t events_left_off = 0;
  std::vector<Region> regions;
  uint64_t regions_left_off = 0;
};

struct HotPc {
  uint64_t pc = 0;
  uint64_t count = 0;
  uint8_t level = level::kUser;  // level byte of its first execution
  std::string symbol;  // "name+0xoff" when an ELF was given and names it
};

// The manifest's facts (all empty when the run has none).
struct RunFacts {
  bool has_manifest = false;
  bool complete = false;
  std::vector<std::string> command_line;
  std::string qemu_version, isa, format, clock;
  int cores = 0;
  std::vector<std::pair<std::string, std::string>> options;
  struct Event {
    uint64_t time_ns = 0;
    std::string event, source, detail;
    int id = -1, core = -1;
  };
  std::vector<Event> events;
  uint64_t events_left_off = 0;
  std::map<std::string, uint64_t> totals;
};

struct Report {
  std::string title;
  RunFacts facts;
  Axis axis = Axis::Instructions;
  uint64_t interval_width = 1;  // ns or instructions
  std::vector<CoreReport> cores;
  std::vector<HotPc> hot_pcs;
  // Distinct over all cores together (a core's own are in CoreReport).
  uint64_t distinct_pcs = 0, distinct_lines = 0, distinct_pages = 0;
  std::string elf;  // the program that named the PCs, if any
};

// The manifest of the run named by `path_or_base` (BASE, BASE.json or a
// trace file), if there is one. Throws TraceError if it is not readable JSON.
RunFacts read_run_facts(const std::string& path_or_base);

// Reads every core's file once. Throws TraceError on unreadable input.
Report aggregate_report(const std::string& path_or_base);

}  // namespace qemutrace

namespace qemutrace {
// The report as one self-contained HTML page: inline CSS and SVG, no
// script that fetches or draws anything. The numbers a test compares with
// `stats --json` are in data-stat attributes and a JSON block
// (<script type="application/json" id="report-data">).
std::string report_html(const Report& r);
}  // namespace qemutrace
