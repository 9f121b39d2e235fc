// Names of the format's enumerations, shared by every tool.
#include "qemutrace/format.h"

namespace qemutrace {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::x86_64: return "x86_64";
    case Isa::i386: return "i386";
    case Isa::aarch64: return "aarch64";
  }
  return "unknown";
}

bool parse_isa(std::string_view name, Isa* out) {
  for (Isa i : {Isa::x86_64, Isa::i386, Isa::aarch64})
    if (name == isa_name(i)) { *out = i; return true; }
  return false;
}

std::string_view level::privilege_name(uint8_t lv) {
  switch (privilege(lv)) {
    case kKernel: return "kernel";
    case kUser: return "user";
    case kHypervisor: return "hypervisor";
  }
  return "?";
}

std::string_view marker_kind_name(MarkerKind k) {
  switch (k) {
    case MarkerKind::RoiBegin: return "roi_begin";
    case MarkerKind::RoiEnd: return "roi_end";
    case MarkerKind::LimitReached: return "limit_reached";
    case MarkerKind::Discontinuity: return "discontinuity";
    case MarkerKind::TraceError: return "trace_error";
    case MarkerKind::SkipDone: return "skip_done";
  }
  return "unknown";
}

std::string_view marker_source_name(MarkerSource s) {
  switch (s) {
    case MarkerSource::None: return "none";
    case MarkerSource::Console: return "console";
    case MarkerSource::LegacyInt: return "legacy_int";
    case MarkerSource::MagicNop: return "magic_nop";
    case MarkerSource::Limit: return "limit";
    case MarkerSource::Window: return "window";
    case MarkerSource::StartOption: return "start_option";
    case MarkerSource::EndOfRun: return "end_of_run";
    case MarkerSource::Exception: return "exception";
    case MarkerSource::Interrupt: return "interrupt";
  }
  return "unknown";
}

}  // namespace qemutrace
