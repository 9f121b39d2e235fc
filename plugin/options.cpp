#include "options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "qemutrace/trace_paths.h"

namespace qemutrace::plugin {
namespace {

bool parse_int(const std::string& v, int64_t* out) {
  if (v.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long x = strtoll(v.c_str(), &end, 0);
  if (errno || *end) return false;
  *out = x;
  return true;
}

bool parse_bool(const std::string& v, bool* out) {
  if (v == "on" || v == "yes" || v == "true" || v == "1") { *out = true; return true; }
  if (v == "off" || v == "no" || v == "false" || v == "0") { *out = false; return true; }
  return false;
}

}  // namespace

bool parse_options(int argc, char** argv, Options* o, std::string* error) {
  auto bad = [&](const std::string& key, const std::string& val, const char* expected) {
    *error = "bad value '" + val + "' for '" + key + "' (expected " + expected + ")";
    return false;
  };
  bool have_window = false, have_every = false, have_bbv_interval = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    if (eq == std::string::npos) {
      *error = "option '" + arg + "' needs a value (key=value)";
      return false;
    }
    std::string k = arg.substr(0, eq), v = arg.substr(eq + 1);
    int64_t n = 0;
    if (k == "base") {
      if (v.empty()) return bad(k, v, "a path");
      o->base = v;
    } else if (k == "format") {
      if (!parse_output_format(v, &o->format))
        return bad(k, v, output_format_choices().c_str());
      o->format_name = v;
    } else if (k == "start") {
      if (v == "now") o->start = StartMode::Now;
      else if (v == "marker") o->start = StartMode::Marker;
      else if (v == "console") o->start = StartMode::Console;
      else return bad(k, v, "now, marker or console");
    } else if (k == "markers") {
      if (v == "nop") { o->nop_markers = true; o->int_markers = false; }
      else if (v == "int") { o->nop_markers = false; o->int_markers = true; }
      else if (v == "both") { o->nop_markers = o->int_markers = true; }
      else return bad(k, v, "nop, int or both");
    } else if (k == "limit") {
      if (!parse_int(v, &n) || n < -1) return bad(k, v, "an integer, -1 for no limit");
      o->limit = n;
    } else if (k == "exit_on_limit") {
      if (!parse_bool(v, &o->exit_on_limit)) return bad(k, v, "on or off");
    } else if (k == "skip") {
      if (!parse_int(v, &n) || n < 0) return bad(k, v, "a non-negative integer");
      o->skip = n;
    } else if (k == "window") {
      if (!parse_int(v, &n) || n <= 0) return bad(k, v, "a positive integer");
      o->window = n; have_window = true;
    } else if (k == "every") {
      if (!parse_int(v, &n) || n <= 0) return bad(k, v, "a positive integer");
      o->every = n; have_every = true;
    } else if (k == "ctl") {
      if (v.empty()) return bad(k, v, "a socket path");
      o->ctl = v;
    } else if (k == "values") {
      if (!parse_bool(v, &o->values)) return bad(k, v, "on or off");
    } else if (k == "phys") {
      if (!parse_bool(v, &o->phys)) return bad(k, v, "on or off");
    } else if (k == "levels") {
      if (!parse_level_rule(v, &o->levels)) return bad(k, v, "cpl, xen or nested");
    } else if (k == "zstd") {
      if (!parse_int(v, &n) || n < -7 || n > 22) return bad(k, v, "a zstd level, -7..22");
      o->zstd = static_cast<int>(n);
    } else if (k == "bbv_interval") {
      if (!parse_int(v, &n) || n < 1) return bad(k, v, "an instruction count, at least 1");
      o->bbv_interval = static_cast<uint64_t>(n);
      have_bbv_interval = true;
    } else if (k == "chunk") {
      if (!parse_int(v, &n) || n < 1 || n > (1 << 30)) return bad(k, v, "an instruction count, 1..2^30");
      o->chunk = static_cast<uint32_t>(n);
    } else if (k == "threads") {
      if (!parse_int(v, &n) || n < 1 || n > 64) return bad(k, v, "a thread count, 1..64");
      o->threads = static_cast<unsigned>(n);
    } else if (k == "quiet") {
      if (!parse_bool(v, &o->quiet)) return bad(k, v, "on or off");
    } else if (k == "count_check") {
      if (!parse_bool(v, &o->count_check)) return bad(k, v, "on or off");
    } else {
      *error = "unknown option '" + k + "'";
      return false;
    }
    o->given.emplace_back(k, v);
  }
  if (o->base.empty()) {
    *error = "missing option 'base' (base=PATH: files PATH_<core> and PATH.json)";
    return false;
  }
  if (std::string why = trace_base_problem(o->base); !why.empty()) {
    *error = "bad value '" + o->base + "' for 'base' (" + why + ")";
    return false;
  }
  if (have_bbv_interval && o->format != OutputFormat::Bbv) {
    *error = "option 'bbv_interval' applies to format=bbv only";
    return false;
  }
  if (have_window != have_every) {
    *error = std::string("option '") + (have_window ? "every" : "window") +
             "' is required with '" + (have_window ? "window" : "every") + "'";
    return false;
  }
  if (have_window && o->window > o->every) {
    *error = "bad value '" + std::to_string(o->window) + "' for 'window' (must not exceed every=" +
             std::to_string(o->every) + ")";
    return false;
  }
  return true;
}

}  // namespace qemutrace::plugin
