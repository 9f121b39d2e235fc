// One row per job of a campaign: what it traced, how fast, how it ended.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "campaign/state.h"

namespace qemutrace::campaign {

struct SummaryRow {
  std::string job, workload, settings;  // settings: "smp=2 format=binary"
  Status status = Status::Pending;
  int exit_status = -1;
  long long instructions = -1, kernel_instructions = -1, bytes = -1;  // -1: no manifest
  double seconds = 0;  // traced time (the manifest's ROI events), else the job's run time
  std::string report;  // the job's report.html, relative to the campaign directory, if present
};

std::vector<SummaryRow> summary_rows(const std::string& dir, const Campaign& c);

// The table: job, workload, settings, instructions, kernel share,
// bytes/insn, MIPS, status (exit), report.
std::string summary_table(const std::vector<SummaryRow>& rows);
nlohmann::json summary_json(const std::vector<SummaryRow>& rows);

}  // namespace qemutrace::campaign
