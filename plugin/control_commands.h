// The commands of the control socket (ctl=PATH): status, start, stop.
#pragma once

#include <string>

namespace qemutrace::plugin {

// Starts serving the socket at path; false with the message in *error.
bool start_control(const std::string& path, std::string* error);
void stop_control();

}  // namespace qemutrace::plugin
