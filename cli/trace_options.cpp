#include "trace_options.h"

#include <cstdlib>

#include "launcher/util.h"
#include "qemutrace/output_format.h"
#include "qemutrace/writer.h"

namespace qemutrace::cli {

using namespace qemutrace::launcher;

namespace {
int64_t count_opt(const std::string& name, const std::string& v, bool no_limit) {
  auto c = parse_count_option(v, no_limit);
  if (!c) throw LaunchError("bad " + name + " value '" + v + "': expected " + count_option_choices(no_limit));
  return *c;
}
}  // namespace

void add_trace_options(CLI::App* sub, TraceOptions& o) {
  sub->add_option("--trace", o.trace, "Trace base name: files BASE_<core>, manifest BASE.json, socket BASE.ctl")
      ->capture_default_str();
  sub->add_option("--format", o.format, output_format_choices())
      ->capture_default_str();
  sub->add_option("--start", o.start, "When tracing starts: marker (ROI markers), now, console")->capture_default_str();
  sub->add_option("--markers", o.markers, "Which ROI markers count: nop, int or both")->capture_default_str();
  sub->add_option("--limit", o.limit, "Stop tracing after N instructions in total (-1: no limit)")->capture_default_str();
  sub->add_flag("--exit-on-limit", o.exit_on_limit, "End QEMU once --limit is reached");
  sub->add_option("--skip", o.skip, "Stay off for the first N instructions after the start condition");
  sub->add_option("--window", o.window, "Sampling: trace LEN instructions ...");
  sub->add_option("--every", o.every, "... out of every PERIOD");
  sub->add_flag("--values", o.values, "Record loaded and stored values");
  sub->add_flag("--no-phys", o.no_phys, "Do not record physical addresses");
  sub->add_option("--zstd", o.zstd, "zstd level of the binary format, -7..22 (negative: faster, larger)");
  sub->add_option("--plugin-opt", o.plugin_opts, "Extra plugin option key=value (repeatable)");
}

TraceSettings trace_settings(const TraceOptions& o) {
  TraceSettings t;
  t.base = o.trace;
  t.format = o.format;
  t.start = o.start;
  t.markers = o.markers;
  t.limit = count_opt("--limit", o.limit, true);
  t.exit_on_limit = o.exit_on_limit;
  if (!o.skip.empty()) t.skip = count_opt("--skip", o.skip, false);
  if (!o.window.empty()) t.window = count_opt("--window", o.window, false);
  if (!o.every.empty()) t.every = count_opt("--every", o.every, false);
  t.values = o.values;
  t.phys = !o.no_phys;
  if (!o.zstd.empty()) {
    // The plugin's range: negative levels trade size for compression speed.
    char* end = nullptr;
    long z = std::strtol(o.zstd.c_str(), &end, 10);
    if (*end != '\0' || end == o.zstd.c_str() || z < -7 || z > 22)
      throw LaunchError("bad --zstd value '" + o.zstd + "': expected a level -7..22");
    t.zstd = int(z);
  }
  t.extra = o.plugin_opts;
  if (t.exit_on_limit && t.limit <= 0) throw LaunchError("--exit-on-limit needs --limit N");
  plugin_argument("libqemutrace.so", t);  // validate option values before any slow step
  return t;
}

}  // namespace qemutrace::cli
