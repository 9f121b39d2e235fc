// Resolving what the user names (a file, a manifest, a run base) to per-core files.
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qemutrace/trace_paths.h"

#include "qemutrace/output_format.h"

#include "qemutrace/reader.h"  // TraceError
#include "qemutrace/writer.h"  // OutputFormat, core_file_path

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

std::string manifest_path(const std::string& arg) {
  if (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".json") == 0) return arg;
  if (!is_file(arg) && is_file(arg + ".json")) return arg + ".json";
  return "";
}

std::vector<std::string> expand_trace_paths(const std::string& arg) {
  const std::string manifest = manifest_path(arg);
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

namespace {
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a named pipe";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
}  // namespace

std::vector<std::string> run_output_paths(const std::string& base, unsigned cores) {
  std::vector<std::string> out{base + ".json"};
  for (unsigned k = 0; k < cores; k++) {
    for (OutputFormat f : all_output_formats()) out.push_back(core_file_path(base, k, f));
    out.push_back(core_file_path(base, k, OutputFormat::Binary) + ".qtr");
  }
  return out;
}

std::string output_overwrites_input(const std::vector<std::string>& outputs,
                                    const std::vector<std::string>& inputs) {
  std::vector<std::pair<struct stat, const std::string*>> in;
  for (const std::string& p : inputs) {
    struct stat st{};
    if (::stat(p.c_str(), &st) == 0) in.emplace_back(st, &p);
  }
  for (const std::string& o : outputs) {
    struct stat st{};
    if (::stat(o.c_str(), &st) != 0) continue;
    for (const auto& [ist, name] : in)
      if (ist.st_dev == st.st_dev && ist.st_ino == st.st_ino)
        return o == *name ? o : o + " (the same file as " + *name + ")";
  }
  return "";
}

std::string trace_base_problem(const std::string& base) {
  if (base.empty()) return "empty trace base";
  if (base.back() == '/') return base + " names a directory: give a file name in it, such as " + base + "t";
  struct stat st{};
  if (::stat(base.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return base + " is " + kind_of(st.st_mode) + ": the trace base is a file name prefix, such as out/t";
  // What a run would write must not already be a device or a directory.
  for (const std::string& p : run_output_paths(base, 64))
    if (::stat(p.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return p + " is " + kind_of(st.st_mode);
  std::string dir = dir_of(base);
  if (dir.empty()) dir = ".";
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (::stat(dir.c_str(), &st) != 0) return "";  // created by the launcher, or reported when writing
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real)) {
    std::string r = real;
    auto under = [&](const std::string& top) { return r == top || r.rfind(top + "/", 0) == 0; };
    if (under("/dev") && !under("/dev/shm")) return "the trace directory " + dir + " is the device directory " + r;
    struct statfs fs{};
    if (::statfs(real, &fs) == 0 && (fs.f_type == 0x9fa0 /* proc */ || fs.f_type == 0x62656572 /* sysfs */))
      return "the trace directory " + dir + " is in " + (fs.f_type == 0x9fa0 ? "/proc" : "/sys") +
             ", not an ordinary directory";
  }
  if (::access(dir.c_str(), W_OK) != 0) return "the trace directory " + dir + " is not writable";
  return "";
}

}  // namespace qemutrace
