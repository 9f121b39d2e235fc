// The end-of-run summary: per-core instructions, kernel/user split, bytes on
// disk, bytes per instruction, guest MIPS and the manifest path.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launcher/session.h"

namespace qemutrace::launcher {

// What the files of a run hold once QEMU is gone: the manifest's word, and
// for binary files (a binary run, or the recordings of a simulator-format
// run that was not converted) what the reader recovers from each.
struct CoreFileCheck {
  int core = 0;
  std::string path;
  long long instructions = -1;  // readable (checksummed complete chunks); -1: unreadable
  std::string damage;           // "" when the file is finished and intact
};
struct TraceCheck {
  bool have_manifest = false;
  bool complete = false;     // the manifest says complete and every file read is intact
  std::string problem;       // why not complete (one phrase), "" when complete
  std::vector<CoreFileCheck> files;  // binary files read (empty for finished simulator formats)
  long long recoverable = -1;        // sum over files, -1 if none was read
};
TraceCheck check_trace(const std::string& base);

struct SummaryInput {
  std::string base;     // BASE (manifest BASE.json)
  std::string format;   // plugin format (binary: stats gives kernel/user split)
  const SessionResult* session = nullptr;
  const TraceCheck* check = nullptr;  // incomplete runs: rows from the files
};

// Prints the summary to stdout. Returns the total instructions traced (from
// the manifest, else the last live status), or -1 if nothing is known.
long long print_summary(const SummaryInput& in);

// Seconds between ROI begin and end events in a manifest (summed over
// intervals); 0 if the manifest does not say.
double traced_seconds(const nlohmann::json& manifest);

// totals.instructions of BASE.json, or -1.
long long manifest_total_instructions(const std::string& base);

// The per-core trace files listed in BASE.json (or guessed BASE_<k>).
std::vector<std::string> trace_files(const std::string& base);

}  // namespace qemutrace::launcher
