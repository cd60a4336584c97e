// The listening sockets horloge-launch binds itself and hands over, as systemd's .socket units
// do in production: netd and monitord never need the privilege to bind a low port.
#pragma once
#include "config.h"
#include <vector>

namespace horloge::launch {

// UDP sockets for every `listen` line (default: 0.0.0.0 and :: on port 123).
std::vector<int> bindNtp(const Config& config);
// The TCP socket of `monitor listen`, listening.
int bindMonitor(const Config& config);

}  // namespace horloge::launch
