// Our own addresses, which never get an answer (a packet "from" us is forged, and answering it
// could start a loop with another service of ours). Collected once, before lockdown: every
// interface address (getifaddrs) plus what the handed sockets are bound to.
//
// Loopback addresses (127.0.0.0/8, ::1) are left out: the kernel never accepts them from a
// wire (martians), so a loopback source is a local client, such as the demo or a benchmark.
#pragma once
#include "config.h"
#include <kj/array.h>
#include <vector>

namespace horloge::netd {

// /32 and /128 `deny` rules for every non-loopback address of this host and of `fds`.
std::vector<AccessRule> ownAddressRules(kj::ArrayPtr<const int> fds);

}  // namespace horloge::netd
