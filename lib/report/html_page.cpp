// The report page: formats a Report (aggregate.cpp) as HTML with inline
// SVG (svg_plot.cpp). Computes nothing but shares and labels.
#include <fmt/format.h>

#include <iterator>
#include <nlohmann/json.hpp>

#include "qemutrace/report.h"
#include "svg_plot.h"

namespace qemutrace {
namespace {

using report_detail::Chart;
using report_detail::html_escape;
using report_detail::Series;

// The timeline's stacked series: each privilege outside a nested guest,
// then a nested guest's instructions whatever their privilege, so the
// series add up to the instructions. Hypervisor and nested only when present.
struct LevelSeries {
  const char* name;
  const char* color;
  uint64_t (*count)(const LevelCounts&);
  bool always;
};
constexpr LevelSeries kLevelSeries[] = {
    {"user", "#1976d2", [](const LevelCounts& c) { return c.by_level[level::kUser]; }, true},
    {"kernel", "#f57c00", [](const LevelCounts& c) { return c.by_level[level::kKernel]; }, true},
    {"hypervisor", "#7b1fa2", [](const LevelCounts& c) { return c.by_level[level::kHypervisor]; }, false},
    {"nested guest", "#00838f", [](const LevelCounts& c) { return c.nested(); }, false},
};

std::string level_label(uint8_t lv) {
  return std::string(level::privilege_name(lv)) + ((lv & level::kNested) ? " (nested)" : "");
}
const char* core_color(size_t i) {
  static const char* c[] = {"#1976d2", "#f57c00", "#388e3c", "#d32f2f", "#7b1fa2", "#00838f", "#5d4037", "#455a64"};
  return c[i % 8];
}

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 8px; font-size: 13px; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; word-break: break-all; }
.note { color: #555; font-size: 13px; max-width: 60em; }
svg.plot { display: block; margin: .3em 0 1em 0; }
.legend { font-size: 12px; }
)";

std::string num(uint64_t v) { return std::to_string(v); }

// The counts `stats --json` prints, for one core or the run.
struct StatRow {
  std::string who;
  TraceCounts counts;
  uint64_t pcs = 0, lines = 0;
};

nlohmann::json row_json(const StatRow& r) {
  const TraceCounts& c = r.counts;
  return {{"instructions", c.instructions}, {"loads", c.loads}, {"stores", c.stores},
          {"kernel_instructions", c.levels.kernel()}, {"user_instructions", c.levels.user()},
          {"hypervisor_instructions", c.levels.hypervisor()}, {"nested_instructions", c.levels.nested()},
          {"distinct_pcs", r.pcs}, {"distinct_data_lines", r.lines}, {"bytes", c.bytes}, {"markers", c.markers}};
}

std::string stat_cell(const std::string& who, const char* stat, uint64_t v) {
  return fmt::format("<td class=\"n\" data-core=\"{}\" data-stat=\"{}\">{}</td>", who, stat, v);
}

std::string facts_section(const Report& r) {
  const RunFacts& f = r.facts;
  std::string s = "<h2>Run</h2>\n<table id=\"facts\">\n";
  auto row = [&](const char* k, const std::string& v) {
    s += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", k, v);
  };
  row("trace", "<code>" + html_escape(r.title) + "</code>");
  if (!f.has_manifest) {
    row("manifest", "none (the files alone were read)");
  } else {
    std::string cmd;
    for (const auto& a : f.command_line) cmd += (cmd.empty() ? "" : " ") + a;
    row("command line", "<code>" + html_escape(cmd) + "</code>");
    row("QEMU version", html_escape(f.qemu_version));
    row("ISA", html_escape(f.isa));
    row("cores", fmt::format("<span data-fact=\"cores\">{}</span>", f.cores));
    row("format", html_escape(f.format));
    row("guest clock", html_escape(f.clock));
    row("complete", f.complete ? "yes" : "no (the run did not finish its files)");
    std::string opts;
    for (const auto& [k, v] : f.options) opts += html_escape(k) + "=" + html_escape(v) + " ";
    row("options", "<code>" + opts + "</code>");
    std::string tot;
    for (const auto& [k, v] : f.totals) tot += fmt::format("{}={} ", html_escape(k), v);
    row("manifest totals", tot);
  }
  row("trace files", std::to_string(r.cores.size()));
  for (const auto& c : r.cores)
    if (!c.damage.empty())
      row("damage", fmt::format("core {}: {}", c.core, html_escape(c.damage)));
  s += "</table>\n";
  return s;
}

std::string totals_section(const Report& r, nlohmann::json& data) {
  std::vector<StatRow> rows;
  StatRow total;
  total.who = "total";
  for (const auto& c : r.cores) {
    StatRow x;
    x.who = std::to_string(c.core);
    x.counts.instructions = c.mix.instructions;
    x.counts.loads = c.mix.loads;
    x.counts.stores = c.mix.stores;
    x.counts.levels = c.mix.levels;
    x.counts.bytes = c.bytes;
    x.counts.markers = c.markers;
    x.pcs = c.distinct_pcs;
    x.lines = c.distinct_lines;
    total.counts += x.counts;
    rows.push_back(std::move(x));
  }
  total.pcs = r.distinct_pcs;
  total.lines = r.distinct_lines;
  std::string s = "<h2>Totals</h2>\n<table id=\"totals\">\n<tr><th>core</th><th>instructions</th><th>user</th>"
                  "<th>kernel</th><th>hypervisor</th><th>nested</th><th>loads</th><th>stores</th><th>distinct PCs</th><th>distinct data lines</th>"
                  "<th>bytes</th><th>markers</th></tr>\n";
  data["cores"] = nlohmann::json::array();
  rows.push_back(total);
  for (const auto& x : rows) {
    std::string m;
    const TraceCounts& c = x.counts;
    for (const auto& [k, v] : c.markers) m += fmt::format("{}={} ", k, v);
    s += "<tr><td>" + x.who + "</td>" + stat_cell(x.who, "instructions", c.instructions) +
         stat_cell(x.who, "user_instructions", c.levels.user()) +
         stat_cell(x.who, "kernel_instructions", c.levels.kernel()) +
         stat_cell(x.who, "hypervisor_instructions", c.levels.hypervisor()) +
         stat_cell(x.who, "nested_instructions", c.levels.nested()) + stat_cell(x.who, "loads", c.loads) +
         stat_cell(x.who, "stores", c.stores) + stat_cell(x.who, "distinct_pcs", x.pcs) +
         stat_cell(x.who, "distinct_data_lines", x.lines) + stat_cell(x.who, "bytes", c.bytes) + "<td>" + m +
         "</td></tr>\n";
    nlohmann::json j = row_json(x);
    if (x.who == "total") data["total"] = j;
    else { j["core"] = std::stoi(x.who); data["cores"].push_back(j); }
  }
  s += "</table>\n";
  return s;
}

// Where a key (ns or instruction index) lies on the x axis, 0..1.
double at(const Report& r, uint64_t key) {
  double span = double(r.interval_width) * double(kReportIntervals);
  return std::min(1.0, double(key) / span);
}

std::string axis_label(const Report& r) {
  return r.axis == Axis::TimeNs ? "host time since the first traced instruction"
                                : "instruction index on the core";
}
std::string axis_max(const Report& r) {
  double span = double(r.interval_width) * double(kReportIntervals);
  return r.axis == Axis::TimeNs ? fmt::format("{:.4g} ms", span / 1e6) : fmt::format("{:.4g} instructions", span);
}

std::string timeline_section(const Report& r) {
  std::string s = "<h2>Timeline</h2>\n<p class=\"note\">";
  s += fmt::format("Instructions per interval ({} intervals of {} {}), split by level (user, kernel; hypervisor and nested guest when the run has them), each core on its own scale. "
                   "Green lines: ROI_BEGIN; red: ROI_END or LIMIT_REACHED; grey: other markers. "
                   "Shaded: traced regions (windows of a sampled run). The purple strip counts DISCONTINUITY "
                   "markers (exceptions and interrupts) per interval.",
                   kReportIntervals, r.interval_width, r.axis == Axis::TimeNs ? "ns" : "instructions");
  s += "</p>\n";
  bool present[std::size(kLevelSeries)] = {};
  for (const auto& c : r.cores)
    for (size_t i = 0; i < std::size(kLevelSeries); i++) present[i] = present[i] || kLevelSeries[i].count(c.mix.levels);
  for (const auto& c : r.cores) {
    Chart ch;
    ch.id = fmt::format("timeline-core{}", c.core);
    ch.x_label = axis_label(r);
    ch.x_max_label = axis_max(r);
    ch.y_label = "instructions";  // each core on its own scale: an idle core stays readable
    for (const LevelSeries& ls : kLevelSeries) {
      if (!ls.always && !present[&ls - kLevelSeries]) continue;
      Series se{ls.name, ls.color, {}};
      for (const auto& iv : c.intervals) se.values.push_back(double(ls.count(iv.levels)));
      ch.series.push_back(std::move(se));
    }
    for (const auto& iv : c.intervals) ch.ticks.push_back(double(iv.discontinuities));
    ch.ticks_title = "discontinuities";
    for (const auto& e : c.events) {
      const char* color = e.marker.kind == MarkerKind::RoiBegin ? "#2e7d32"
                          : (e.marker.kind == MarkerKind::RoiEnd || e.marker.kind == MarkerKind::LimitReached)
                              ? "#c62828"
                              : "#757575";
      ch.marks.push_back({at(r, e.key), color,
                          fmt::format("{} ({}) id {} at instruction {}", marker_kind_name(e.marker.kind),
                                      marker_source_name(e.marker.source), e.marker.id, e.index)});
    }
    for (const auto& g : c.regions)
      ch.spans.push_back({at(r, g.begin_key), at(r, g.end_key),
                          fmt::format("region from instruction {}: {} instructions", g.first_index, g.instructions)});
    s += fmt::format("<h3>core {}</h3>\n", c.core) + report_detail::stacked_bars(ch);
    if (c.events_left_off)
      s += fmt::format("<p class=\"note\">{} more markers not drawn.</p>\n", c.events_left_off);
  }
  return s;
}

std::string mix_section(const Report& r) {
  std::vector<std::string> cats = {"loads", "stores", "branches", "taken branches", "REP string"};
  for (size_t k = 1; k < 8; k++) cats.push_back(std::string(branch_kind_name(BranchKind(k))));
  cats.push_back("undecodable");
  // counts[core][category]; branch kinds and REP come from decoding.
  std::vector<std::vector<uint64_t>> counts;
  std::vector<Series> groups;
  for (size_t i = 0; i < r.cores.size(); i++) {
    const InstructionMix& m = r.cores[i].mix;
    uint64_t branches = 0;
    for (size_t k = 1; k < 8; k++) branches += m.branches[k];
    std::vector<uint64_t> v = {m.loads, m.stores, branches, m.taken, m.rep_string};
    for (size_t k = 1; k < 8; k++) v.push_back(m.branches[k]);
    v.push_back(m.undecodable);
    Series g{fmt::format("core {}", r.cores[i].core), core_color(i), {}};
    for (size_t k = 0; k + 1 < v.size(); k++)
      g.values.push_back(m.instructions ? double(v[k]) / double(m.instructions) : 0);
    groups.push_back(std::move(g));
    counts.push_back(std::move(v));
  }
  // One row per category, one column per core.
  std::string table = "<table id=\"mix\">\n<tr><th></th>";
  for (const auto& c : r.cores) table += fmt::format("<th>core {}</th>", c.core);
  table += "</tr>\n<tr><th>instructions</th>";
  for (const auto& c : r.cores) table += fmt::format("<td class=\"n\">{}</td>", c.mix.instructions);
  table += "</tr>\n";
  for (size_t k = 0; k < cats.size(); k++) {
    table += "<tr><th>" + html_escape(cats[k]) + "</th>";
    for (size_t i = 0; i < r.cores.size(); i++) {
      bool unknown = k >= 2 && !r.cores[i].mix.branches_known;  // decoded from the bytes
      table += fmt::format("<td class=\"n\" data-core=\"{}\" data-mix=\"{}\">{}</td>", r.cores[i].core,
                           html_escape(cats[k]), unknown ? "-" : num(counts[i][k]));
    }
    table += "</tr>\n";
  }
  table += "</table>\n";
  cats.pop_back();  // undecodable: in the table only
  return "<h2>Instruction mix</h2>\n<p class=\"note\">Per instruction, per core. Loads and stores are the recorded "
         "accesses (an atomic read-modify-write is one of each). Branch kinds are decoded from the instruction "
         "bytes; taken means the next PC is not the fall-through. REP string counts retired instances: QEMU may "
         "retire one REP instruction in several pieces.</p>\n" +
         report_detail::grouped_hbars("mix-plot", cats, groups) + table;
}

std::string footprint_section(const Report& r) {
  std::string s = "<h2>Memory footprint</h2>\n<p class=\"note\">Distinct 64-byte cache lines and pages accessed in "
                  "each interval (exact per interval, by virtual address), and over the whole trace.</p>\n";
  s += "<table id=\"footprint\"><tr><th>core</th><th>distinct lines</th><th>distinct pages</th></tr>\n";
  for (const auto& c : r.cores)
    s += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n", c.core,
                     c.distinct_lines, c.distinct_pages);
  s += fmt::format("<tr><td>all</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n</table>\n", r.distinct_lines,
                   r.distinct_pages);
  for (const auto& c : r.cores) {
    Chart ch;
    ch.id = fmt::format("footprint-core{}", c.core);
    ch.x_label = axis_label(r);
    ch.x_max_label = axis_max(r);
    ch.y_label = "distinct per interval";
    Series lines{"cache lines", "#00838f", {}}, pages{"pages", "#d32f2f", {}};
    for (const auto& iv : c.intervals) {
      lines.values.push_back(double(iv.lines));
      pages.values.push_back(double(iv.pages));
    }
    ch.series = {std::move(lines), std::move(pages)};
    s += fmt::format("<h3>core {}</h3>\n", c.core) + report_detail::lines(ch);
  }
  return s;
}

std::string hot_section(const Report& r) {
  uint64_t all = 0;
  for (const auto& c : r.cores) all += c.mix.instructions;
  std::string s = fmt::format("<h2>Hottest PCs</h2>\n<p class=\"note\">The {} most executed PCs over all cores{}.</p>\n",
                              kReportHotPcs,
                              r.elf.empty() ? "" : "; names from the symbol table of " + html_escape(r.elf) +
                                                       " (any process mapped at the same addresses gets the same names)");
  s += "<table id=\"hot-pcs\"><tr><th>#</th><th>PC</th><th>level</th><th>executed</th><th>share</th><th>symbol</th></tr>\n";
  for (size_t i = 0; i < r.hot_pcs.size(); i++) {
    const HotPc& h = r.hot_pcs[i];
    s += fmt::format("<tr data-pc=\"{:#x}\" data-count=\"{}\"><td>{}</td><td><code>{:#x}</code></td><td>{}</td>"
                     "<td class=\"n\">{}</td><td class=\"n\">{:.2f}%</td><td class=\"symbol\">{}</td></tr>\n",
                     h.pc, h.count, i + 1, h.pc, level_label(h.level), h.count,
                     all ? 100.0 * double(h.count) / double(all) : 0.0, html_escape(h.symbol));
  }
  return s + "</table>\n";
}

std::string regions_section(const Report& r) {
  std::string s = "<h2>Regions and windows</h2>\n<p class=\"note\">Traced regions per core, from ROI_BEGIN to ROI_END "
                  "or LIMIT_REACHED; in a sampled run (--window/--skip) each window is one.</p>\n"
                  "<table id=\"regions\"><tr><th>core</th><th>id</th><th>first instruction</th><th>instructions</th>"
                  "<th>began by</th><th>ended by</th></tr>\n";
  for (const auto& c : r.cores) {
    for (const auto& g : c.regions)
      s += fmt::format("<tr class=\"region\" data-core=\"{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>\n",
                       c.core, c.core, g.id, g.first_index, g.instructions, marker_source_name(g.begin_source),
                       g.closed ? std::string(marker_source_name(g.end_source)) : "(end of file)");
    if (c.regions_left_off)
      s += fmt::format("<tr><td>{}</td><td colspan=\"5\">{} more regions</td></tr>\n", c.core, c.regions_left_off);
  }
  s += "</table>\n";
  const RunFacts& f = r.facts;
  if (!f.events.empty()) {
    s += "<h3>Manifest events</h3>\n<table id=\"events\"><tr><th>time (ms)</th><th>event</th><th>source</th>"
         "<th>id</th><th>core</th><th>detail</th></tr>\n";
    for (const auto& e : f.events)
      s += fmt::format("<tr><td class=\"n\">{:.3f}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       double(e.time_ns) / 1e6, html_escape(e.event), html_escape(e.source),
                       e.id >= 0 ? std::to_string(e.id) : "", e.core >= 0 ? std::to_string(e.core) : "",
                       html_escape(e.detail));
    if (f.events_left_off) s += fmt::format("<tr><td colspan=\"6\">{} more events</td></tr>\n", f.events_left_off);
    s += "</table>\n";
  }
  return s;
}

}  // namespace

std::string report_html(const Report& r) {
  nlohmann::json data;
  std::string body = facts_section(r);
  body += totals_section(r, data);
  body += timeline_section(r);
  body += mix_section(r);
  body += footprint_section(r);
  body += hot_section(r);
  body += regions_section(r);
  // "</" cannot appear in JSON dumped here except inside strings; escape it
  // so the block cannot close the script element.
  std::string json = data.dump();
  for (size_t p = 0; (p = json.find("</", p)) != std::string::npos; p += 3) json.replace(p, 2, "<\\/");
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>qemutrace report: " +
         html_escape(r.title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>qemutrace report: " +
         html_escape(r.title) + "</h1>\n" + body +
         "<script type=\"application/json\" id=\"report-data\">" + json + "</script>\n</body>\n</html>\n";
}

}  // namespace qemutrace
