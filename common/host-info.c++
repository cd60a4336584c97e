#include "host-info.h"
#include "ntp-time.h"
#include <ctime>
#include <unistd.h>

namespace horloge {

void fillHostInfo(ipc::HostInfo::Builder host) {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) host.setName(name);
  timespec boot;
  if (clock_gettime(CLOCK_BOOTTIME, &boot) == 0) host.setBootedNs(realtimeNs() - ntp::toNs(boot));
}

}  // namespace horloge
