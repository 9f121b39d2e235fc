// A run's files: BASE_<k> per guest core in the run's output format, and the
// manifest BASE.json (docs/trace-format.md). RunWriter methods are
// thread-safe.
//
// Part of the tools library (lib/run): not installed with the trace library,
// whose headers promise only what libqemutrace-trace.a holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "qemutrace/output_format.h"
#include "qemutrace/writer.h"

namespace qemutrace {

// The per-core writer's options plus what the run delivers.
struct RunOptions : WriterOptions {
  OutputFormat format = OutputFormat::Binary;
  uint64_t bbv_interval = 0;  // format bbv: instructions per vector (0: the default)
};

struct ManifestEvent {
  uint64_t time_ns = 0;  // monotonic_ns()
  std::string event;     // roi_begin, roi_end, limit_reached, error, ...
  std::string source;
  int id = -1;
  int core = -1;
  std::string detail;
};

struct RunInfo {
  std::vector<std::string> command_line;
  std::string qemu_version;
  unsigned cores = 0;
  std::vector<std::pair<std::string, std::string>> options;
};

// Where a run in a simulator format records core k in our binary format
// until it is converted at the end of the run (BASE_<k>.qtr).
std::string recording_file_path(const std::string& base, unsigned core);

// All files of one run: BASE_<k> per core and the manifest BASE.json.
// Whatever the format, the cores record in binary; see run_writer.cpp.
class RunWriter {
 public:
  // Creates nothing on disk until a core is first used; the manifest is
  // written immediately so that a failing directory is reported at once.
  static std::unique_ptr<RunWriter> create(const std::string& base, const RunOptions& opts,
                                           const RunInfo& info, std::string* error);
  ~RunWriter();

  // Thread-safe; intended for translation time, not per execution.
  const StaticBlock* intern_block(uint64_t vaddr, uint64_t paddr, const uint8_t* bytes,
                                  const uint8_t* lengths, uint32_t insn_count);
  // The sink of core k, created on first use. Thread-safe. Returns nullptr
  // if its file cannot be created (error() says why).
  TraceSink* core(unsigned k);

  // O(1): the manifest is rewritten soon after by a background thread
  // (temp file + rename, spaced out; a kill leaves the last one written).
  void add_event(const ManifestEvent& ev);
  // Finishes every core and writes the complete manifest. Idempotent.
  // False if a file or any manifest rewrite failed (error() says which).
  bool finish();

  std::string base() const;
  std::string error() const;
  bool failed() const;
  std::vector<CoreTotals> totals() const;  // indexed by core

 private:
  RunWriter();
  bool convert_recordings(std::string* error);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qemutrace
