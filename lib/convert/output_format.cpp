// Output format names and per-core file names (writer.h).
#include <string>
#include <string_view>

#include "qemutrace/writer.h"

namespace qemutrace {

std::string_view output_format_name(OutputFormat f) {
  switch (f) {
    case OutputFormat::Binary: return "binary";
    case OutputFormat::Tejas: return "tejas";
    case OutputFormat::ChampSim: return "champsim";
    case OutputFormat::Din: return "din";
    case OutputFormat::Text: return "text";
  }
  return "?";
}

bool parse_output_format(std::string_view name, OutputFormat* out) {
  OutputFormat f;
  if (name == "binary") f = OutputFormat::Binary;
  else if (name == "tejas" || name == "file") f = OutputFormat::Tejas;
  else if (name == "champsim") f = OutputFormat::ChampSim;
  else if (name == "din") f = OutputFormat::Din;
  else if (name == "text") f = OutputFormat::Text;
  else return false;
  if (out) *out = f;
  return true;
}

std::string core_file_path(const std::string& base, unsigned core, OutputFormat f) {
  std::string p = base + "_" + std::to_string(core);
  switch (f) {
    case OutputFormat::Binary:
    case OutputFormat::Tejas: break;
    case OutputFormat::ChampSim: p += ".champsimtrace.xz"; break;
    case OutputFormat::Din: p += ".din"; break;
    case OutputFormat::Text: p += ".txt"; break;
  }
  return p;
}

}  // namespace qemutrace
