#include "core.h"

#include <cerrno>
#include <cstdio>

#include "phase.h"

namespace qemutrace::plugin {

Immortal<PluginState> g_plugin;

void say(const std::string& s) {
  if (!g_plugin->opt.quiet) fprintf(stderr, "qemutrace: %s\n", s.c_str());
}

void event(const char* name, MarkerSource src, int id, int core, std::string detail) {
  PluginState& p = *g_plugin;
  if (!p.run) return;
  ManifestEvent ev;
  ev.time_ns = monotonic_ns();
  ev.event = name;
  ev.source = std::string(marker_source_name(src));
  ev.id = id;
  ev.core = core;
  ev.detail = std::move(detail);
  std::lock_guard<std::mutex> lk(p.event_mu);
  p.run->add_event(ev);
}

bool attach_sink(unsigned k) {
  PluginState& p = *g_plugin;
  if (!p.run || k >= p.vcpus.size()) return false;
  if (phase() == Phase::Failed) return false;
  if (!set_sink(p.vcpus[k], p.run->core(k))) {
    fail_trace(k, p.run->error(), EIO);
    return false;
  }
  return true;
}

void check_failure(unsigned k) {
  Vcpu& v = g_plugin->vcpus[k];
  if (v.sink && v.sink->failed()) fail_trace(k, v.sink->error(), EIO);
}

void fail_trace(unsigned k, const std::string& why, int err) {
  PluginState& p = *g_plugin;
  force_phase(Phase::Failed);
  if (!p.failed_reported.exchange(true)) {
    fprintf(stderr, "qemutrace: cannot write the trace (%s); tracing stopped, the guest keeps running\n",
            why.c_str());
    event("error", MarkerSource::None, -1, int(k), why);
    if (k < p.vcpus.size() && p.vcpus[k].sink)
      p.vcpus[k].sink->marker(Marker{MarkerKind::TraceError, MarkerSource::None, 0, uint64_t(err)});
    request_reset_vcpu();
  }
}

}  // namespace qemutrace::plugin
