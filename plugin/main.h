// libqemutrace.so: full-system, per-core instruction tracing for unmodified
// QEMU (plugin API v4). See docs/plugin.md for the options and the recording
// rules, and docs/architecture.md for the rooms of this directory. The
// plugin writes no format bytes itself: everything goes through
// qemutrace::RunWriter / TraceSink.
#pragma once

namespace qemutrace::plugin {

// Registers the plugin-wide callbacks; again after every flush, because
// qemu_plugin_reset drops all of them (phase.cpp, on_reset_done).
void register_callbacks();

}  // namespace qemutrace::plugin
