// The registry of output formats: names, legacy aliases and per-core file
// names (output_format.h). The one place that knows them; front ends ask here.
#include <array>
#include <string>
#include <string_view>

#include "qemutrace/output_format.h"

namespace qemutrace {

namespace {

struct FormatEntry {
  OutputFormat format;
  std::string_view name;
  std::string_view alias;   // legacy name, "" if none
  std::string_view suffix;  // appended to BASE_<k>
};

// In the order front ends list them.
constexpr std::array<FormatEntry, 8> kFormats = {{
    {OutputFormat::Binary, "binary", "", ""},
    {OutputFormat::Tejas, "tejas", "file", ""},  // the legacy tool's plain-text files
    {OutputFormat::TejasGz, "tejas-gz", "file-gz", ".gz"},  // what current Tejas opens
    {OutputFormat::ChampSim, "champsim", "", ".champsimtrace.xz"},
    {OutputFormat::ChampSimGz, "champsim-gz", "", ".champsimtrace.gz"},  // faster than xz, larger
    {OutputFormat::Din, "din", "", ".din"},
    {OutputFormat::Text, "text", "", ".txt"},
    {OutputFormat::Bbv, "bbv", "", ".bb"},  // SimPoint basic-block vectors
}};

const FormatEntry& entry(OutputFormat f) {
  for (const FormatEntry& e : kFormats)
    if (e.format == f) return e;
  return kFormats[0];
}

}  // namespace

std::string_view output_format_name(OutputFormat f) { return entry(f).name; }

const std::vector<OutputFormat>& all_output_formats() {
  static const std::vector<OutputFormat> all = [] {
    std::vector<OutputFormat> v;
    for (const FormatEntry& e : kFormats) v.push_back(e.format);
    return v;
  }();
  return all;
}

bool parse_output_format(std::string_view name, OutputFormat* out) {
  if (name.empty()) return false;
  for (const FormatEntry& e : kFormats) {
    if (name == e.name || name == e.alias) {
      if (out) *out = e.format;
      return true;
    }
  }
  return false;
}

std::string output_format_choices(bool without_binary) {
  std::string s;
  size_t n = 0, total = 0;
  for (const FormatEntry& e : kFormats) total += !(without_binary && e.format == OutputFormat::Binary);
  for (const FormatEntry& e : kFormats) {
    if (without_binary && e.format == OutputFormat::Binary) continue;
    if (n) s += n + 1 == total ? " or " : ", ";
    s += e.name;
    if (!e.alias.empty()) {
      s += " (or ";
      s += e.alias;
      s += ")";
    }
    ++n;
  }
  return s;
}

std::string output_format_isa_problem(OutputFormat f, Isa isa) {
  if ((f == OutputFormat::Tejas || f == OutputFormat::TejasGz) && isa != Isa::x86_64 && isa != Isa::i386)
    return std::string("the ") + std::string(entry(f).name) +
           " format is x86-only (Tejas' translator reads x86 assembly), and this trace is " +
           std::string(isa_name(isa));
  return "";
}

std::string core_file_path(const std::string& base, unsigned core, OutputFormat f) {
  return base + "_" + std::to_string(core) + std::string(entry(f).suffix);
}

}  // namespace qemutrace
