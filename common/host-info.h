// The host a reader of clockd's status runs on (monitord, horlogectl): its name and when it
// booted, for the dashboard's title and uptime. Needs no file: gethostname() and the boot-time
// clock (so it works after lockdown).
#pragma once
#include <horloge.capnp.h>

namespace horloge {

void fillHostInfo(ipc::HostInfo::Builder host);

}  // namespace horloge
