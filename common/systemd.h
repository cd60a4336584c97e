// The two systemd protocols a daemon speaks: socket activation (LISTEN_FDS, which
// horloge-launch imitates) and sd_notify. Both are no-ops outside their environment.
#pragma once
#include <kj/async.h>
#include <kj/timer.h>
#include <string>
#include <vector>

namespace horloge::systemd {

struct ListenFd {
  int fd;
  std::string name;   // LISTEN_FDNAMES entry, e.g. "ntp" or "https"
};

// The sockets handed to this process, with the environment variables cleared.
std::vector<ListenFd> takeListenFds();

void notifyReady(const std::string& status);
void notifyStatus(const std::string& status);
void notifyWatchdog();

// Pings the systemd watchdog (WATCHDOG=1) at half the interval the unit asked for
// (WatchdogSec=, read from WATCHDOG_USEC/WATCHDOG_PID), from the caller's event loop: a loop
// that hangs stops pinging and systemd restarts the daemon. Never resolves; without a watchdog
// it does nothing. Join it to what main() waits on:
//   serving.exclusiveJoin(systemd::watchdogLoop(io.provider->getTimer())).wait(io.waitScope);
kj::Promise<void> watchdogLoop(kj::Timer& timer);

}  // namespace horloge::systemd
