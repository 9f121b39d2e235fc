// The formats a run can deliver and the names of their files. Binary is
// ours; the others come from lib/convert. lib/convert/output_format.cpp
// holds the one registry of their names, aliases and file names; every front
// end (plugin options, run, convert, the legacy -q_trace) validates and
// describes formats through it.
//
// Part of the tools library (lib/convert): not installed with the trace
// library, whose headers promise only what libqemutrace-trace.a holds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "qemutrace/format.h"

namespace qemutrace {

enum class OutputFormat { Binary, Tejas, TejasGz, ChampSim, ChampSimGz, Din, Text, Bbv };
std::string_view output_format_name(OutputFormat f);
// Every format, in the order front ends list them.
const std::vector<OutputFormat>& all_output_formats();
// Accepts the names and the legacy aliases (file = tejas, file-gz = tejas-gz).
bool parse_output_format(std::string_view name, OutputFormat* out);
// The accepted names for a message or --help, e.g. "binary, tejas (or file),
// ... or text"; without_binary: only the formats `convert` writes.
std::string output_format_choices(bool without_binary = false);
// Why format f cannot be written for a trace of `isa` ("" if it can), as
// one line: Tejas' translator reads x86 assembly only.
std::string output_format_isa_problem(OutputFormat f, Isa isa);
// Path of core k's file for a run base (BASE_<k>, plus a suffix for some formats).
std::string core_file_path(const std::string& base, unsigned core, OutputFormat f);

}  // namespace qemutrace
