// Recognising trace files in the simulator formats (Tejas text, din,
// readable text, ChampSim; lib/convert/output_format.cpp) that the tools
// meant for the binary format are given, and counting what they hold.
// Not installed: the command-line tools use it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "qemutrace/output_format.h"

namespace qemutrace {

struct ForeignTrace {
  OutputFormat format = OutputFormat::Tejas;  // never Binary
  std::string what;  // "a Tejas text trace (--format tejas, legacy mode=file)"
};

// Looks at the start of `path`: the format of a simulator-format trace, or
// nothing for a binary trace, an empty file or anything else (the binary
// reader then says what is wrong).
std::optional<ForeignTrace> recognise_foreign_trace(const std::string& path);

// One line for a tool that reads only the binary format (`tool` is "dump" or
// "verify"): what the file is and what to do instead.
std::string foreign_trace_advice(const std::string& path, const ForeignTrace& t, std::string_view tool);

// What a foreign trace says about each instruction: its level (level::
// bits, format.h), or -1 in a format that does not record the privilege; a
// format without access sizes gives size 0.
struct ForeignTraceVisitor {
  std::function<void(uint64_t pc, int lv)> instruction;
  std::function<void(uint64_t vaddr, unsigned size, bool store)> access;
  std::function<void(std::string_view kind)> marker;
};

// Reads the whole file, calling the visitor. Returns "" when the file ends
// as a finished trace of its format ends, otherwise what is missing (a cut
// last line, no Tejas end-of-stream line, a truncated xz stream, ...).
std::string scan_foreign_trace(const std::string& path, const ForeignTrace& t, const ForeignTraceVisitor& v);

}  // namespace qemutrace
