// qemutrace ctl BASE|SOCKET start|stop|status: drive a running trace from
// another terminal or a script (the plugin's control socket, BASE.ctl).
#include <cstdio>

#include "launcher/ctl_client.h"
#include "launcher/util.h"
#include "subcommand.h"

namespace qemutrace::cli {
namespace {

using namespace qemutrace::launcher;

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string target, command;
    bool human = false;
    int timeout_ms = kControlReplyMs;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("ctl", "Start, stop or query a running trace (BASE or its socket BASE.ctl)");
  sub->add_option("target", o->target, "Trace base name (uses BASE.ctl) or the socket path")->required();
  sub->add_option("command", o->command, "start, stop or status")->required();
  sub->add_flag("--human", o->human, "status: one readable line instead of JSON");
  sub->add_option("--timeout-ms", o->timeout_ms, "How long to wait for the answer")->capture_default_str();
  return [o, sub]() -> int {
    if (!sub->parsed()) return 0;
    try {
      if (o->command != "start" && o->command != "stop" && o->command != "status")
        throw LaunchError("bad command '" + o->command + "': expected start, stop or status");
      std::string sock = resolve_ctl_target(o->target);
      std::string reply = ctl_request(sock, o->command, o->timeout_ms);
      if (starts_with(reply, "error")) return fail(sock + ": " + reply);
      if (o->human && o->command == "status") {
        if (auto st = parse_status(reply)) reply = describe_status(*st);
      }
      std::printf("%s\n", reply.c_str());
      return 0;
    } catch (const LaunchError& e) {
      return fail(e.what());
    }
  };
}

}  // namespace
QEMUTRACE_SUBCOMMAND(ctl, setup);
}  // namespace qemutrace::cli
