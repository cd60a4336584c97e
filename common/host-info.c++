#include "host-info.h"
#include "ntp-time.h"
#include <ctime>
#include <pwd.h>
#include <unistd.h>

namespace horloge {

void fillHostInfo(ipc::HostInfo::Builder host) {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0) host.setName(name);
  timespec boot;
  if (clock_gettime(CLOCK_BOOTTIME, &boot) == 0) host.setBootedNs(realtimeNs() - ntp::toNs(boot));
}

kj::String lockdownUserName(const Config& config, Role role) {
  if (geteuid() == 0) return kj::str(config.user(role).c_str());
  passwd pw, *found = nullptr;
  char buf[1024];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &found) != 0 || found == nullptr) return kj::str("");
  return kj::str(pw.pw_name);
}

}  // namespace horloge
