// Plain one-line messages for command lines that do not parse.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace qemutrace::cli {

// What went wrong, naming the option and what it expects, for example
// "bad --smp value 'abc': expected a whole number" instead of CLI11's
// "Could not convert: --smp = abc". `app` is the top-level app that threw.
std::string plain_parse_error(const CLI::ParseError& e, const CLI::App& app);

// A validator for counts and indices: refuses negative numbers, which
// CLI11 would otherwise wrap around into huge unsigned values.
CLI::Validator non_negative_count();

}  // namespace qemutrace::cli
