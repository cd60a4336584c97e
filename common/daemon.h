// What every daemon's main() does first: read `-f FILE` (default /etc/horloge/horloge.conf),
// load the configuration, and tag the log with the role. Exits 1 with `file:line: message`
// on a bad configuration, so a daemon never starts on a file it did not fully understand.
#pragma once
#include "config.h"
#include <kj/function.h>

namespace horloge {

constexpr char DEFAULT_CONFIG[] = "/etc/horloge/horloge.conf";

Config startDaemon(Role role, int argc, char** argv);

// Runs a daemon's body; an exception that escapes it is logged and becomes exit status 1, so a
// supervisor (systemd, horloge-launch) sees a failure it can restart.
int runDaemon(kj::FunctionParam<int()> body);

}  // namespace horloge
