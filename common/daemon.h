// What every daemon's main() does first: read `-f FILE` (default /etc/horloge/horloge.conf),
// load the configuration, and tag the log with the role. Exits 1 with `file:line: message`
// on a bad configuration, so a daemon never starts on a file it did not fully understand.
#pragma once
#include "config.h"

namespace horloge {

constexpr char DEFAULT_CONFIG[] = "/etc/horloge/horloge.conf";

Config startDaemon(Role role, int argc, char** argv);

}  // namespace horloge
