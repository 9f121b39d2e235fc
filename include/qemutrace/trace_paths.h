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

// The manifest that path_or_base names (a *.json path, or BASE when BASE.json
// exists and BASE is not a file), or "" when it names trace files directly.
std::string manifest_path(const std::string& path_or_base);

// The files a run or a conversion with output base `base` may write for
// cores [0, cores): BASE_<k> in every output format, the recordings
// BASE_<k>.qtr, and the manifest BASE.json.
std::vector<std::string> run_output_paths(const std::string& base, unsigned cores);

// The first output that is the same file (device and inode, symlinks
// followed) as an input, as "OUTPUT (the same file as INPUT)" or just
// "OUTPUT" when the names agree; "" when none is. Outputs
// that do not exist yet cannot be an input.
std::string output_overwrites_input(const std::vector<std::string>& outputs,
                                    const std::vector<std::string>& inputs);

// Why BASE cannot be a trace base, or "" if it can: BASE, BASE_<k> and
// BASE.json must not be devices, directories or other special files, and
// the directory of BASE, where it exists, must be an ordinary writable
// directory (not /dev, /proc or /sys).
std::string trace_base_problem(const std::string& base);

}  // namespace qemutrace
