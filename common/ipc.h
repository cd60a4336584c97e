// The plumbing under ipc-schema/horloge.capnp: where the sockets are, how clockd serves one
// role per socket, and how the other daemons stay connected to it across restarts.
#pragma once
#include "config.h"
#include <capnp/capability.h>
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>
#include <kj/vector.h>
#include <sys/types.h>

namespace horloge::ipc {

constexpr char REFCLOCK_SOCKET[] = "refclock.sock";   // bootstrap RefclockFeed
constexpr char NETD_SOCKET[] = "netd.sock";           // bootstrap NetdFeed
constexpr char STATUS_SOCKET[] = "status.sock";       // bootstrap StatusReader
constexpr char NTSKE_SOCKET[] = "ntske.sock";         // bootstrap NtskeFeed (NTS on)

kj::String socketPath(const Config& config, kj::StringPtr name);

// "unsynchronised", "locked", "holdover": the words the status, metrics and horlogectl use.
kj::StringPtr syncStateName(SyncState state);

// Fills `info` from this process's /proc/self/status: call it after lockdown.
void fillDaemonInfo(DaemonInfo::Builder info, horloge::Role role, int64_t startedNs);

// ---- client side ----

using Session = kj::Function<kj::Promise<void>(capnp::Capability::Client bootstrap)>;

// Connects to `path`, runs `session` with the bootstrap capability until either ends, then
// reconnects after a back-off that doubles from 100 ms to 5 s (reset by a session that lasted
// 10 s or more). Never resolves: the caller keeps doing its job while the peer is away.
kj::Promise<void> keepConnected(kj::AsyncIoContext& io, kj::String path, kj::String peerName,
                                Session session);

// ---- server side (clockd) ----

struct SocketOwner {
  uid_t uid;
  gid_t gid;
  mode_t mode;
};

// Binds a Unix stream socket at `path` (replacing a stale one) and gives it to `owner`.
// Call before lockdown: it needs chown. A listening socket at `path` handed over by systemd
// (socket units, LISTEN_FDS) is used as it is instead, once its owner and mode are checked
// against `owner`: then clockd needs neither root nor CAP_CHOWN.
kj::Own<kj::ConnectionReceiver> listenUnix(kj::AsyncIoContext& io, kj::StringPtr path,
                                           SocketOwner owner);

using BootstrapFactory = kj::Function<capnp::Capability::Client()>;

// Accepts connections forever. A peer whose uid (SO_PEERCRED) is not in `allowedUids` is logged
// and closed; an empty list allows any uid that the socket's permissions let in. Each accepted
// peer gets a fresh bootstrap capability from `factory`, released when the peer goes away.
kj::Promise<void> serve(kj::ConnectionReceiver& listener, kj::Array<uid_t> allowedUids,
                        BootstrapFactory factory, kj::StringPtr what);

}  // namespace horloge::ipc
