// CLI11 reports parse errors in its own terms ("Could not convert: --smp =
// abc", "files is required"); these say which option is wrong and what it
// expects, in the words of its --help.
#include "parse_errors.h"

#include <cctype>
#include <vector>

namespace qemutrace::cli {
namespace {

// The chain of subcommands given, e.g. {guest, build}.
std::vector<const CLI::App*> given_commands(const CLI::App& app) {
  std::vector<const CLI::App*> chain;
  const CLI::App* cur = &app;
  while (true) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.back();
    chain.push_back(cur);
  }
  return chain;
}

std::string command_name(const CLI::App& app) {
  std::string s = "qemutrace";
  for (const CLI::App* c : given_commands(app)) s += " " + c->get_name();
  return s;
}

const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  auto chain = given_commands(app);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it)
    if (const CLI::Option* o = (*it)->get_option_no_throw(name)) return o;
  return app.get_option_no_throw(name);
}

std::string expected_value(const CLI::Option* o) {
  std::string t = o ? o->get_type_name() : "";
  if (t == "INT") return "a whole number";
  if (t == "UINT") return "a whole number, 0 or more";
  if (t == "FLOAT") return "a number";
  return "a value";
}

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = char(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

std::string help_hint(const CLI::App& app) { return "(" + command_name(app) + " --help lists them)"; }

}  // namespace

std::string plain_parse_error(const CLI::ParseError& e, const CLI::App& app) {
  const std::string what = e.what();
  const std::string cmd = command_name(app);
  if (dynamic_cast<const CLI::ConversionError*>(&e)) {
    const std::string prefix = "Could not convert: ";
    auto eq = what.find(" = ");
    if (starts_with(what, prefix) && eq != std::string::npos) {
      std::string name = what.substr(prefix.size(), eq - prefix.size());
      std::string value = what.substr(eq + 3);
      return "bad " + name + " value '" + value + "': expected " + expected_value(find_option(app, name));
    }
    auto colon = what.find(": too many inputs for a flag");
    if (colon != std::string::npos) return what.substr(0, colon) + " is a switch: it takes no value";
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e)) {
    if (starts_with(what, "A subcommand")) {
      auto rest = app.remaining();  // what was left over: an unknown command's name
      if (!rest.empty() && !starts_with(rest.front(), "-")) return "unknown command '" + rest.front() + "' " + help_hint(app);
      return "no command given " + help_hint(app);
    }
    const std::string suffix = " is required";
    if (what.size() > suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string name = what.substr(0, what.size() - suffix.size());
      const CLI::Option* o = find_option(app, name);
      std::string desc = o ? lower_first(o->get_description()) : "";
      if (o && o->get_positional()) return cmd + " needs " + (desc.empty() ? name : desc);
      return cmd + " needs " + name + (desc.empty() ? "" : " (" + desc + ")");
    }
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    // "NAME: 1 required TYPE missing": an option given without its value.
    auto colon = what.find(": ");
    if (colon != std::string::npos && what.find(" required ") != std::string::npos &&
        what.size() >= 8 && what.compare(what.size() - 8, 8, " missing") == 0) {
      std::string name = what.substr(0, colon);
      const CLI::Option* o = find_option(app, name);
      std::string expect = expected_value(o);
      if (expect == "a value" && o && !o->get_description().empty()) expect = lower_first(o->get_description());
      return name + " needs a value (" + expect + ")";
    }
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e)) {
    // Our validators say "'VALUE': expected ...": "NAME: 'VALUE': expected ...".
    auto colon = what.find(": '");
    if (colon != std::string::npos) return "bad " + what.substr(0, colon) + " value " + what.substr(colon + 2);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    auto colon = what.find(": ");
    std::string extra = colon == std::string::npos ? "" : what.substr(colon + 2);
    std::string first = extra.substr(0, extra.find(' '));
    if (given_commands(app).empty()) return "unknown command '" + first + "' " + help_hint(app);
    if (starts_with(first, "-")) return "unknown option " + first + " for " + cmd + " " + help_hint(app);
    return "unexpected argument '" + first + "' for " + cmd + " (see " + cmd + " --help)";
  }
  return what;
}

CLI::Validator non_negative_count() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        size_t i = v.find_first_not_of(" \t");
        if (i != std::string::npos && v[i] == '-') return "'" + v + "': expected a count, 0 or more";
        return "";
      },
      "");
}

}  // namespace qemutrace::cli
