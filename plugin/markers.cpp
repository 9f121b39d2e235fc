#include "markers.h"

#include "guest_regs.h"
#include "phase.h"
#include "record.h"
#include "translate.h"

namespace qemutrace::plugin {
namespace {

Immortal<IntWatch> g_watch;

// Starts tracing at a site (START marker: after it; int watch: at it).
void start_at_site(Vcpu& v, unsigned k, Site* s, MarkerSource src) {
  Phase ph = phase();
  if (ph != Phase::Off) return;  // already on / skipping / limit / failed
  start_condition(src, s->id, int(k));
  if (phase() == Phase::Tracing) {
    end_region(v, k);
    if (core_begin(v, k)) {
      v.stream.disc_pending = false;
      if (s->sub) open_record(v, k, s->tb, s->sub, s->sub_base);
    }
  }
  request_reset_vcpu();
}

// An `int $100` executed: watch its return point (in this address space,
// with this stack pointer). A new one at the same point replaces the old.
void watch_return_point(Site* s) {
  IntWatch& w = *g_watch;
  bool fresh;
  {
    std::lock_guard<std::mutex> lk(w.mu);
    w.pending[s->next_pc] = PendingInt{read_asid(), read_stack_pointer(), s->tb->cpl == 0};
    fresh = w.points.insert(s->next_pc).second;
  }
  // Retranslate so that the return point gets its watch callback.
  if (fresh) request_reset_vcpu();
}

// A watched return point runs: the pending start it belongs to, if any.
bool take_pending_start(Site* s) {
  IntWatch& w = *g_watch;
  std::lock_guard<std::mutex> lk(w.mu);
  auto it = w.pending.find(s->pc);
  if (it == w.pending.end() || !it->second.confirmed || it->second.asid != read_asid() ||
      it->second.sp != read_stack_pointer())
    return false;
  w.pending.erase(it);
  return true;
}

// A process was stepped past its `int $100`: it resumes at args.arg0 with
// stack pointer args.arg1 (qemutrace_legacy_confirm in guest/qemutrace.h).
void confirm_int(const MarkerArgs& args) {
  IntWatch& w = *g_watch;
  std::lock_guard<std::mutex> lk(w.mu);
  auto it = w.pending.find(args.arg0);
  if (it != w.pending.end() && it->second.sp == args.arg1) it->second.confirmed = true;
}

void stop_at_site(Vcpu& v, unsigned k, Site* s) {
  Phase ph = phase();
  if (ph != Phase::Tracing && ph != Phase::Skipping) return;
  MarkerSource src = s->type == MarkerType::NopStop ? MarkerSource::MagicNop : MarkerSource::LegacyInt;
  Marker end;
  bool stopped = stop_condition(src, s->id, int(k), &end);
  if (v.rec.block && v.rec.exec == s->tb) close_record_before(v, k, s->idx);
  else if (v.rec.block) close_record(v, k, 0);
  // Lost to a limit declared meanwhile: the region ends as the limit says.
  core_end(v, k, stopped ? end : end_marker_for_phase());
  request_reset_vcpu();
}

}  // namespace

IntWatch& int_watch() { return *g_watch; }

void on_marker(unsigned k, void* ud) {
  Site* s = static_cast<Site*>(ud);
  k = running_vcpu(k);
  Vcpu& v = g_plugin->vcpus[k];
  if (!v.sink && !attach_sink(k)) return;
  reset_if_requested();
  if (s->watch) {
    if (take_pending_start(s)) start_at_site(v, k, s, MarkerSource::LegacyInt);
    if (s->type == MarkerType::None) return;
  }
  switch (s->type) {
    case MarkerType::NopStart:
      start_at_site(v, k, s, MarkerSource::MagicNop);
      break;
    case MarkerType::IntStart:
      if (phase() == Phase::Off) watch_return_point(s);
      break;
    case MarkerType::IntConfirm:
      confirm_int(read_marker_args());
      break;
    case MarkerType::NopStop:
    case MarkerType::IntStop:
      stop_at_site(v, k, s);
      break;
    default:
      break;
  }
}

}  // namespace qemutrace::plugin
