// The qemutrace command: dispatches to the subcommands in cli/*.cpp.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>

#include "legacy/front_end.h"
#include "parse_errors.h"
#include "qemutrace/reader.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {
std::map<std::string, SubcommandSetup>& registry() {
  static std::map<std::string, SubcommandSetup> r;
  return r;
}
}  // namespace

SubcommandRegistrar::SubcommandRegistrar(const char* name, SubcommandSetup setup) {
  registry().emplace(name, std::move(setup));
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "qemutrace: %s\n", msg.c_str());
  return 1;
}
}  // namespace qemutrace::cli

int main(int argc, char** argv) {
  using namespace qemutrace::cli;
  // qemutrace-system-<arch> (a link to this binary): the legacy front end.
  if (argc > 0 && qemutrace::launcher::is_legacy_name(argv[0])) return qemutrace::launcher::legacy_main(argc, argv);
  CLI::App app{"qemutrace: full-system multi-core instruction tracer built on QEMU"};
  app.require_subcommand(1);
  std::map<std::string, std::function<int()>> runners;
  for (auto& [name, setup] : registry()) runners[name] = setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(plain_parse_error(e, app));  // exit status 1, like every other error
  }
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = runners.find(sub->get_name());
    if (it == runners.end() || !it->second) continue;
    try {
      return it->second();
    } catch (const qemutrace::TraceError& e) {
      return fail(e.what());
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  return 2;
}
