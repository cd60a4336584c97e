// The plumbing under ipc-schema/horloge.capnp: where the sockets are, the limits both ends of
// each one enforce, how clockd serves one role per socket, and how the other daemons find the
// real clockd there and stay connected to it across restarts.
#pragma once
#include "config.h"
#include <capnp/capability.h>
#include <capnp/rpc-twoparty.h>
#include <capnp/serialize-async.h>
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>
#include <kj/vector.h>
#include <sys/types.h>

namespace horloge::ipc {

// One of clockd's sockets and its limits. capnp's default reader limit (8 Mi words) would let
// any peer make its reader allocate 64 MB per connection before a single field is checked:
// each end reads at most what the protocol's largest valid message needs on that socket
// (clockd/validate-test.c++ builds those messages and checks they fit, with room), and
// clockd serves a bounded number of connections, each with a bounded backlog of replies.
struct Socket {
  const char* name;             // in rundir
  uint64_t hubReadWords;        // the largest message clockd reads from a peer on it
  uint64_t peerReadWords;       // the largest message a peer reads from clockd on it
  unsigned maxConnections;      // served at once; more are closed when accepted
  size_t maxQueuedBytes;        // replies a peer leaves unread, past which it is dropped
  // Every peer of ours sends its bootstrap request as soon as it connects: one that has said
  // nothing after this long is only holding a connection.
  kj::Duration silentLimit = 10 * kj::SECONDS;
};

// refclockd pushes up to 8 receivers' status with 128 satellites each (3916 words at most);
// clockd answers with a ClockHint.
constexpr Socket REFCLOCK_SOCKET{"refclock.sock", 16 << 10, 1 << 10, 8, 256 << 10};
// netd pushes its counters with 16 top clients (219 words at most) and relay samples; clockd
// pushes the ServerState.
constexpr Socket NETD_SOCKET{"netd.sock", 4 << 10, 1 << 10, 8, 256 << 10};
// Readers only ask; clockd answers with the whole SystemStatus (about 5100 words at most).
constexpr Socket STATUS_SOCKET{"status.sock", 1 << 10, 16 << 10, 16, 1 << 20};
// NTS on: ntskd pushes its stats (a few words); clockd pushes at most 16 server keys.
constexpr Socket NTSKE_SOCKET{"ntske.sock", 1 << 10, 1 << 10, 8, 256 << 10};

kj::String socketPath(const Config& config, const Socket& socket);

// "unsynchronised", "locked", "holdover": the words the status, metrics and horlogectl use.
kj::StringPtr syncStateName(SyncState state);

// Fills `info` from this process's /proc/self/status: call it after lockdown.
void fillDaemonInfo(DaemonInfo::Builder info, horloge::Role role, int64_t startedNs);

// horloge::Role (config.h, which knows no schema) is the schema's Role, value for value, so that
// one converts to the other with a cast.
static_assert(static_cast<int>(Role::CLOCKD) == static_cast<int>(horloge::Role::CLOCKD) &&
              static_cast<int>(Role::NETD) == static_cast<int>(horloge::Role::NETD) &&
              static_cast<int>(Role::REFCLOCKD) == static_cast<int>(horloge::Role::REFCLOCKD) &&
              static_cast<int>(Role::MONITORD) == static_cast<int>(horloge::Role::MONITORD) &&
              static_cast<int>(Role::NTSKD) == static_cast<int>(horloge::Role::NTSKD) &&
              horloge::ROLE_COUNT == 5);

// The message stream under a Link: messages read are refused past `readWords` before any
// room is made for them (capnp checks the segment table against the reader's limit first).
class BoundedMessageStream final: public capnp::MessageStream {
public:
  BoundedMessageStream(kj::AsyncIoStream& stream, uint64_t readWords)
      : inner(stream), readWords(readWords) {}
  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd> fdSpace, capnp::ReaderOptions options,
      kj::ArrayPtr<capnp::word> scratchSpace) override;
  kj::Promise<void> writeMessage(kj::ArrayPtr<const int> fds,
                                 kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override;
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override;
  kj::Maybe<int> getSendBufferSize() override { return inner.getSendBufferSize(); }
  kj::Promise<void> end() override { return inner.end(); }

private:
  capnp::AsyncIoMessageStream inner;
  uint64_t readWords;
};

// One end of an IPC connection: the stream; capnp's two-party network on it, reading messages
// of at most `readWords` and refusing to send one the other end would refuse (its own
// `readWords`, given here as `sendWords`); the RPC system (all destroyed in reverse order).
class Link {
public:
  // The client end: bootstrap() is the server's capability.
  Link(kj::Own<kj::AsyncIoStream> stream, const Socket& socket);
  // The server end (clockd): the peer's bootstrap() gets `bootstrap`.
  Link(kj::Own<kj::AsyncIoStream> stream, const Socket& socket, capnp::Capability::Client bootstrap);
  KJ_DISALLOW_COPY(Link);

  capnp::Capability::Client bootstrap();
  kj::Promise<void> onDisconnect() { return network.onDisconnect(); }
  // Bytes of outgoing messages the peer has not read yet.
  size_t queuedBytes() { return network.getCurrentQueueSize(); }

private:
  kj::Own<kj::AsyncIoStream> stream;
  BoundedMessageStream messages;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

// ---- client side ----

// Where a peer finds clockd and whom it trusts to be clockd there: the process listening on
// the socket (SO_PEERCRED: whoever bound it, before dropping privileges) must be clockd's user,
// root (clockd binds as root, systemd's socket units too) or ourselves (everything started by
// one unprivileged user). Made before lockdown: it looks clockd's user up.
struct Endpoint {
  kj::String path;
  Socket socket;
  kj::Array<uid_t> trustedUids;
};
Endpoint clockdEndpoint(const Config& config, const Socket& socket);

// Connects to `endpoint` and checks who serves it. Fails (FAILED, naming the socket and the
// uid) when the listener is not trusted, before a byte is sent to it.
kj::Promise<kj::Own<Link>> connect(kj::AsyncIoContext& io, const Endpoint& endpoint);

using Session = kj::Function<kj::Promise<void>(capnp::Capability::Client bootstrap)>;

// Connects to `endpoint`, runs `session` with the bootstrap capability until either ends, then
// reconnects after a back-off that doubles from 100 ms to 5 s (reset by a session that lasted
// 10 s or more). Never resolves: the caller keeps doing its job while the peer is away.
kj::Promise<void> keepConnected(kj::AsyncIoContext& io, Endpoint endpoint, kj::String peerName,
                                Session session);

// ---- server side (clockd) ----

struct SocketOwner {
  uid_t uid;
  gid_t gid;
  mode_t mode;
};

// Makes `path` (mkdir, mode `mode`) or checks the one there, for sockets or state that others
// must not replace: it must be a directory (not a symlink) owned by root or by `owner.uid`; a
// directory writable by group or others (the sticky bit does not help: files in it could be
// swapped by their owner) has those bits removed with a warning. Run as root, the directory is
// also given to `owner`. Throws, naming the path, when it cannot be made safe.
void secureDirectory(kj::StringPtr path, mode_t mode, SocketOwner owner, kj::StringPtr what);

// Binds a Unix stream socket at `path` (replacing a stale one) and gives it to `owner`.
// Call before lockdown: it needs chown. A listening socket at `path` handed over by systemd
// (socket units, LISTEN_FDS) is used as it is instead, once its owner and mode are checked
// against `owner`: then clockd needs neither root nor CAP_CHOWN.
kj::Own<kj::ConnectionReceiver> listenUnix(kj::AsyncIoContext& io, kj::StringPtr path,
                                           SocketOwner owner);

using BootstrapFactory = kj::Function<capnp::Capability::Client()>;

// Accepts connections on `socket` forever. A peer whose uid (SO_PEERCRED) is not in
// `allowedUids` is logged and closed; an empty list allows any uid that the socket's
// permissions let in. Each accepted peer gets a fresh bootstrap capability from `factory`,
// released when the peer goes away. Past `socket.maxConnections` a new connection is closed
// at once; a peer that sends nothing for `socket.silentLimit`, or leaves more than
// `socket.maxQueuedBytes` of replies unread, is dropped (all logged with a rate limit).
kj::Promise<void> serve(kj::Timer& timer, kj::ConnectionReceiver& listener, const Socket& socket,
                        kj::Array<uid_t> allowedUids, BootstrapFactory factory);

}  // namespace horloge::ipc
