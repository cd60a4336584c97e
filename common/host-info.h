// The host a reader of clockd's status runs on (monitord, horlogectl): its name and when it
// booted, for the dashboard's title and uptime. Needs no file: gethostname() and the boot-time
// clock (so it works after lockdown).
#pragma once
#include "config.h"
#include <horloge.capnp.h>

namespace horloge {

void fillHostInfo(ipc::HostInfo::Builder host);

// The name of the account `role` runs as once locked down: the configured user when started as
// root (lockdown drops to it), else the current one. Call it before lockdown (it reads the
// user database); the daemon puts it in its DaemonInfo.
kj::String lockdownUserName(const Config& config, Role role);

}  // namespace horloge
