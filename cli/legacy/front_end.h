// The legacy front end: qemutrace-system-x86_64 / qemutrace-system-i386
// (the qemutrace binary dispatches here by argv[0]).
#pragma once

namespace qemutrace::launcher {

// True when argv0's basename is qemutrace-system-<arch>.
bool is_legacy_name(const char* argv0);
int legacy_main(int argc, char** argv);

}  // namespace qemutrace::launcher
