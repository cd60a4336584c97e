// The two systemd protocols a daemon speaks: socket activation (LISTEN_FDS, which
// horloge-launch imitates) and sd_notify. Both are no-ops outside their environment.
#pragma once
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

}  // namespace horloge::systemd
