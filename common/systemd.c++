#include "systemd.h"
#include <systemd/sd-daemon.h>
#include <cstdlib>

namespace horloge::systemd {

std::vector<ListenFd> takeListenFds() {
  std::vector<ListenFd> out;
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  for (int i = 0; i < n; ++i) {
    out.push_back({SD_LISTEN_FDS_START + i, names && names[i] ? names[i] : ""});
    if (names) free(names[i]);
  }
  free(names);
  return out;
}

void notifyReady(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}
void notifyStatus(const std::string& status) { sd_notify(0, ("STATUS=" + status).c_str()); }
void notifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }

namespace {
kj::Promise<void> ping(kj::Timer& timer, kj::Duration every) {
  return timer.afterDelay(every).then([&timer, every]() {
    notifyWatchdog();
    return ping(timer, every);
  });
}
}  // namespace

kj::Promise<void> watchdogLoop(kj::Timer& timer) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return kj::NEVER_DONE;
  notifyWatchdog();
  return ping(timer, usec / 2 * kj::MICROSECONDS);
}

}  // namespace horloge::systemd
