// The end-of-run summary: per-core instructions, kernel/user split, bytes on
// disk, bytes per instruction, guest MIPS and the manifest path.
#pragma once

#include <string>

#include "launcher/session.h"

namespace qemutrace::launcher {

struct SummaryInput {
  std::string base;     // BASE (manifest BASE.json)
  std::string format;   // plugin format (binary: stats gives kernel/user split)
  const SessionResult* session = nullptr;
};

// Prints the summary to stdout. Returns the total instructions traced (from
// the manifest, else the last live status), or -1 if nothing is known.
long long print_summary(const SummaryInput& in);

// totals.instructions of BASE.json, or -1.
long long manifest_total_instructions(const std::string& base);

// The per-core trace files listed in BASE.json (or guessed BASE_<k>).
std::vector<std::string> trace_files(const std::string& base);

}  // namespace qemutrace::launcher
