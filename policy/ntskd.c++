// ntskd: the NTS key exchange (TLS 1.3) on the TCP socket systemd handed it, with its
// certificate and key loaded before lockdown, and clockd's keys over a Unix socket it
// reconnects when clockd restarts. It accepts connections but creates no network socket and
// opens files read-only (/proc/self/status) only.
#include "tls-server.h"

namespace horloge::policy {

const Policy NTSKD = {Role::NTSKD, TLS_SERVER_SYSCALLS, {}};

}  // namespace horloge::policy
