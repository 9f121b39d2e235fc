// Install and end of run: options, architecture, writer, callbacks.
#include "main.h"

#include <cinttypes>
#include <cstdio>
#include <mutex>

#include "budget.h"
#include "control_commands.h"
#include "core.h"
#include "guest_regs.h"
#include "meminfo.h"
#include "phase.h"
#include "qemu_shim.h"
#include "record.h"
#include "translate.h"

extern "C" {
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
}

namespace qemutrace::plugin {
namespace {

std::once_flag g_regs_once;

void on_vcpu_init(qemu_plugin_id_t, unsigned int k) {
  std::call_once(g_regs_once, find_guest_registers);
  note_vcpu_thread(k);
}

void report_count_check() {
  PluginState& p = *g_plugin;
  auto totals = p.run->totals();
  uint64_t sum_t = 0, sum_i = 0, sum_f = 0, sum_c = 0, sum_r = 0, sum_s = 0;
  for (unsigned k = 0; k < p.vcpus.size(); ++k) {
    const CountCheck& c = p.vcpus[k].check;
    uint64_t t = k < totals.size() ? totals[k].instructions : 0;
    fprintf(stderr,
            "qemutrace: count_check core %u traced=%" PRIu64 " inline=%" PRIu64 " faulted=%" PRIu64
            " cut=%" PRIu64 " rep_merged=%" PRIu64 " rep_split=%" PRIu64 "\n",
            k, t, c.inline_count, c.faults, c.cut_excess, c.rep_merges, c.rep_splits);
    sum_t += t;
    sum_i += c.inline_count;
    sum_f += c.faults;
    sum_c += c.cut_excess;
    sum_r += c.rep_merges;
    sum_s += c.rep_splits;
  }
  fprintf(stderr,
          "qemutrace: count_check total traced=%" PRIu64 " inline=%" PRIu64 " faulted=%" PRIu64
          " cut=%" PRIu64 " rep_merged=%" PRIu64 " rep_split=%" PRIu64 " %s\n",
          sum_t, sum_i, sum_f, sum_c, sum_r, sum_s,
          sum_i + sum_s == sum_t + sum_f + sum_c + sum_r ? "match" : "MISMATCH");
  fprintf(stderr, "qemutrace: count_check translations=%" PRIu64 " flushes=%" PRIu64 " reset_requests=%" PRIu64 "\n",
          translations(), flushes(), reset_requests());
  event("count_check", MarkerSource::None, -1, -1,
        "traced=" + std::to_string(sum_t) + " inline=" + std::to_string(sum_i) +
            " faulted=" + std::to_string(sum_f) + " cut=" + std::to_string(sum_c) +
            " rep_merged=" + std::to_string(sum_r) + " rep_split=" + std::to_string(sum_s));
}

void finish_run() {
  PluginState& p = *g_plugin;
  if (p.finished.exchange(true)) return;
  for (unsigned k = 0; k < p.vcpus.size(); ++k) {
    Vcpu& v = p.vcpus[k];
    if (!v.sink) continue;
    end_region(v, k, Marker{MarkerKind::RoiEnd, MarkerSource::EndOfRun, 0, 0});
  }
  if (p.opt.count_check && p.run) report_count_check();
  if (p.run) {
    bool ok = p.run->finish();
    if (!ok && !p.failed_reported.exchange(true))
      fprintf(stderr, "qemutrace: cannot finish the trace files: %s\n", p.run->error().c_str());
    if (!p.opt.quiet) {
      uint64_t ins = 0, bytes = 0;
      for (auto& t : p.run->totals()) {
        ins += t.instructions;
        bytes += t.bytes;
      }
      fprintf(stderr, "qemutrace: %" PRIu64 " instructions, %" PRIu64 " bytes in %s_*\n", ins, bytes,
              p.opt.base.c_str());
    }
  }
  stop_control();
}

void on_atexit(qemu_plugin_id_t, void*) { finish_run(); }

// The trace cannot be written at all: the guest runs untraced.
int run_untraced(const std::string& why) {
  fprintf(stderr, "qemutrace: cannot write the trace (%s); tracing disabled, the guest keeps running\n",
          why.c_str());
  g_plugin->failed_reported = true;
  force_phase(Phase::Failed);
  register_callbacks();
  return 0;
}

int install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  PluginState& p = *g_plugin;
  p.id = id;
  std::string err;
  if (!parse_options(argc, argv, &p.opt, &err)) {
    fprintf(stderr, "qemutrace: %s\n", err.c_str());
    return -1;
  }
  const Options& opt = p.opt;
  if (!info->system_emulation) {
    fprintf(stderr, "qemutrace: only full-system emulation is supported\n");
    return -1;
  }
  if (!meminfo::matches_api()) {
    fprintf(stderr, "qemutrace: this QEMU encodes memory-access info differently; plugin not loaded\n");
    return -1;
  }
  p.arch = make_arch(info->target_name ? info->target_name : "", &err).release();
  if (!p.arch) {
    fprintf(stderr, "qemutrace: %s\n", err.c_str());
    return -1;
  }
  if (std::string why = output_format_isa_problem(opt.format, p.arch->isa()); !why.empty()) {
    fprintf(stderr, "qemutrace: %s\n", why.c_str());
    return -1;
  }
  p.ncores = unsigned(std::max(1, info->system.max_vcpus));
  p.vcpus.resize(p.ncores);
  shim::init();

  if (!opt.ctl.empty() && !start_control(opt.ctl, &err)) {
    fprintf(stderr, "qemutrace: %s\n", err.c_str());
    return -1;
  }

  RunOptions wo;
  wo.format = opt.format;
  wo.isa = p.arch->isa();
  wo.features = feature::kKernel | feature::kAsid | feature::kTimestamps;
  if (opt.phys) wo.features |= feature::kPhysAddr;
  if (opt.values) wo.features |= feature::kValues;
  if (records_levels(opt.levels)) wo.features |= feature::kLevel;
  wo.zstd_level = opt.zstd;
  wo.chunk_insns = opt.chunk;
  wo.bbv_interval = opt.bbv_interval;
  wo.compress_threads = opt.threads;
  RunInfo ri;
  ri.command_line = shim::command_line();
  ri.qemu_version = shim::qemu_version();
  ri.cores = unsigned(info->system.smp_vcpus);
  ri.options = opt.given;
  p.run = RunWriter::create(opt.base, wo, ri, &err).release();
  if (!p.run) return run_untraced(err);
  for (unsigned k = 0; k < p.ncores; ++k) {
    if (int(k) >= info->system.smp_vcpus) break;
    if (!set_sink(p.vcpus[k], p.run->core(k))) return run_untraced(p.run->error());
  }
  p.score = qemu_plugin_scoreboard_new(sizeof(ScoreEntry));
  init_budgets(p.ncores, opt.limit, opt.window);
  if (opt.limit == 0) {
    force_phase(Phase::Limit);
  } else if (opt.start == StartMode::Now) {
    start_condition(MarkerSource::StartOption, 0, -1);
  }
  register_callbacks();
  return 0;
}

}  // namespace

void register_callbacks() {
  qemu_plugin_id_t id = g_plugin->id;
  qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  qemu_plugin_register_vcpu_idle_cb(id, on_idle);
  qemu_plugin_register_flush_cb(id, on_flush);
  qemu_plugin_register_atexit_cb(id, on_atexit, nullptr);
}

}  // namespace qemutrace::plugin

extern "C" QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info,
                                                      int argc, char** argv) {
  return qemutrace::plugin::install(id, info, argc, argv);
}
