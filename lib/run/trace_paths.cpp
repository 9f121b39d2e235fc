// Resolving what the user names (a file, a manifest, a run base) to per-core files.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qemutrace/trace_paths.h"

#include "qemutrace/reader.h"  // TraceError

namespace qemutrace {
namespace {
bool is_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::string dir_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash + 1);
}
}  // namespace

std::vector<std::string> expand_trace_paths(const std::string& arg) {
  std::string manifest;
  if (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0) manifest = arg;
  else if (!is_file(arg) && is_file(arg + ".json")) manifest = arg + ".json";
  if (!manifest.empty()) {
    std::ifstream in(manifest);
    if (!in) throw TraceError(manifest + ": cannot open manifest");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("files") || !j["files"].is_array())
      throw TraceError(manifest + ": not a qemutrace run manifest");
    std::vector<std::pair<int, std::string>> files;
    for (const auto& f : j["files"]) {
      if (!f.is_object() || !f.contains("path") || !f["path"].is_string())
        throw TraceError(manifest + ": manifest file entry without a path");
      std::string p = f["path"].get<std::string>();
      if (p.empty() || p[0] != '/') p = dir_of(manifest) + p;
      int core = f.contains("core") && f["core"].is_number_integer() ? f["core"].get<int>() : int(files.size());
      files.emplace_back(core, p);
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (auto& [c, p] : files) out.push_back(p);
    if (out.empty()) throw TraceError(manifest + ": manifest lists no trace files");
    return out;
  }
  if (is_file(arg)) return {arg};
  std::vector<std::string> out;
  for (unsigned k = 0; k < 4096 && is_file(arg + "_" + std::to_string(k)); k++)
    out.push_back(arg + "_" + std::to_string(k));
  if (out.empty()) throw TraceError(arg + ": no such trace file, manifest or run base (" + arg + "_0)");
  return out;
}

}  // namespace qemutrace
