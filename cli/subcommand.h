// Each subcommand lives in its own cli/<name>.cpp and registers itself here.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qemutrace::cli {

// Called once with the top-level app; returns the subcommand's run function,
// which main calls when that subcommand was given. It returns the exit code.
using SubcommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct SubcommandRegistrar {
  SubcommandRegistrar(const char* name, SubcommandSetup setup);
};

// Prints "qemutrace: <msg>" on one line to stderr and returns exit code 1.
int fail(const std::string& msg);

}  // namespace qemutrace::cli

// Variadic so that a lambda with commas can be passed directly.
#define QEMUTRACE_SUBCOMMAND(name, ...) \
  static ::qemutrace::cli::SubcommandRegistrar qemutrace_subcommand_##name(#name, __VA_ARGS__)
