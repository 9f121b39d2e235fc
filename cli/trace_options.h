// The tracing options shared by `run` and `replay` (--trace, --format,
// --start, --limit, sampling, ...) and the plugin settings they give.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "launcher/qemu.h"

namespace qemutrace::cli {

struct TraceOptions {
  std::string trace = "qemutrace-out/trace";
  std::string format = "binary";
  std::string start = "marker";
  std::string markers = "both";
  std::string limit = "-1", skip, window, every;
  bool exit_on_limit = false, values = false, no_phys = false;
  std::string zstd;
  std::vector<std::string> plugin_opts;
};

void add_trace_options(CLI::App* sub, TraceOptions& o);

// Checks every value (LaunchError names a bad one) and returns the settings.
launcher::TraceSettings trace_settings(const TraceOptions& o);

}  // namespace qemutrace::cli
