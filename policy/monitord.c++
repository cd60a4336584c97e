// monitord: serves HTTPS (/metrics, /status, /health) on the TCP socket systemd handed it,
// with a TLS key loaded before lockdown, and reads clockd's status over a Unix socket it
// reconnects when clockd restarts. It accepts connections but creates no network socket and
// opens no file for writing.
#include "tls-server.h"

namespace horloge::policy {

const Policy MONITORD = {Role::MONITORD, TLS_SERVER_SYSCALLS, {}};

}  // namespace horloge::policy
