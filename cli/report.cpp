// qemutrace report BASE -o report.html [--elf PROG]: one self-contained
// HTML page about a run (lib/report aggregates, lib/report/html_page.cpp
// writes the page).
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <optional>

#include "convert/foreign_trace.h"
#include "qemutrace/elf_symbols.h"
#include "qemutrace/report.h"
#include "qemutrace/trace_paths.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

int run_report(const std::string& input, const std::string& out, const std::string& elf) {
  // Checked before the trace is read, so a long read is not wasted.
  const std::vector<std::string> paths = expand_trace_paths(input);
  for (const auto& p : paths)
    if (auto foreign = recognise_foreign_trace(p)) return fail(foreign_trace_advice(p, *foreign, "report"));
  std::string problem = output_overwrites_input({out}, paths);
  if (!problem.empty()) return fail(problem + ": the report would overwrite its own trace");
  std::optional<ElfSymbols> syms;
  if (!elf.empty()) syms = ElfSymbols::load(elf);
  // The page goes to a file next to the target, renamed over it at the
  // end: a failure leaves no half page and keeps an older report. It is
  // opened before the trace is read, so an unwritable output fails at once.
  const std::string tmp = out + ".tmp";
  std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
  if (!f) return fail(out + ": cannot write: " + std::strerror(errno));
  auto fail_removing_tmp = [&](const std::string& msg) {
    f.close();
    std::remove(tmp.c_str());
    return fail(msg);
  };
  Report rep;
  try {
    rep = aggregate_report(input);
  } catch (const std::exception& e) {
    return fail_removing_tmp(e.what());
  }
  for (const auto& c : rep.cores)
    if (!c.damage.empty()) std::fprintf(stderr, "qemutrace: warning: %s: %s\n", c.path.c_str(), c.damage.c_str());
  if (syms) {
    rep.elf = elf;
    for (HotPc& h : rep.hot_pcs) h.symbol = syms->name(h.pc);
  }
  const std::string page = report_html(rep);
  f.write(page.data(), std::streamsize(page.size()));
  f.flush();
  if (!f) return fail_removing_tmp(out + ": cannot write: " + std::strerror(errno));
  f.close();
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    int e = errno;
    return fail_removing_tmp(out + ": cannot write: " + std::strerror(e));
  }
  return 0;
}

QEMUTRACE_SUBCOMMAND(report, [](CLI::App& app) -> std::function<int()> {
  auto* cmd = app.add_subcommand("report", "Write an HTML page about a run: facts, timeline, mix, footprint, hot PCs");
  auto input = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto elf = std::make_shared<std::string>();
  cmd->add_option("trace", *input, "A run base, its manifest BASE.json or one trace file")->required();
  cmd->add_option("-o,--output", *out, "The HTML file to write")->required();
  cmd->add_option("--elf", *elf, "Name the hottest PCs from this program's symbol table");
  return [input, out, elf] { return run_report(*input, *out, *elf); };
});

}  // namespace
}  // namespace qemutrace::cli
