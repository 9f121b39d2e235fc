// What the user names on a command line (a trace file, a run's manifest
// BASE.json, or a run base) resolved to the per-core trace files. Part of
// the run library (lib/run), which writes the manifest: the format library
// knows nothing of manifests.
#pragma once

#include <string>
#include <vector>

namespace qemutrace {

// Files named by a manifest BASE.json, or BASE_<k> files for a base path.
// Returns the per-core paths in core order; throws TraceError if none exist.
std::vector<std::string> expand_trace_paths(const std::string& path_or_base);

}  // namespace qemutrace
