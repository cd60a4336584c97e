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
// The TCP socket of NTS-KE (`nts port`, 4460), listening on every address of both families.
int bindNtske(const Config& config);
// A Unix datagram socket for every `refclock sock PATH` (a stale file replaced, mode 0666 so
// that gpsd finds it whatever user it runs as), held for refclockd's whole life and across its
// restarts: gpsd connects to it once, at device activation (refclockd/sock.c++).
std::vector<int> bindRefclockSocks(const Config& config);

}  // namespace horloge::launch
