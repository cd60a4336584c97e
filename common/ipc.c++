#include "ipc.h"
#include "forwarding-stream.h"
#include "log.h"
#include "ntp-time.h"
#include "proc-status.h"
#include "systemd.h"
#include <kj/debug.h>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <pwd.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace horloge::ipc {

// config.c++ refuses a rundir too long for these names.
static_assert(std::char_traits<char>::length(REFCLOCK_SOCKET.name) <= LONGEST_IPC_SOCKET_NAME);
static_assert(std::char_traits<char>::length(NETD_SOCKET.name) <= LONGEST_IPC_SOCKET_NAME);
static_assert(std::char_traits<char>::length(STATUS_SOCKET.name) <= LONGEST_IPC_SOCKET_NAME);

kj::String socketPath(const Config& config, const Socket& socket) {
  return kj::str(config.rundir.c_str(), "/", socket.name);
}

kj::StringPtr syncStateName(SyncState state) {
  switch (state) {
    case SyncState::UNSYNCHRONISED: return "unsynchronised";
    case SyncState::LOCKED: return "locked";
    case SyncState::HOLDOVER: return "holdover";
  }
  return "unknown";
}

void fillDaemonInfo(DaemonInfo::Builder info, horloge::Role role, int64_t startedNs) {
  ProcStatus s = readProcStatus();
  info.setRole(static_cast<ipc::Role>(role));
  info.setPid(static_cast<uint32_t>(getpid()));
  info.setUid(s.uid);
  info.setCapEff(s.capEff);
  info.setNoNewPrivs(s.noNewPrivs);
  info.setSeccomp(s.seccomp);
  info.setVersion(HORLOGE_VERSION);
  info.setStartedNs(startedNs);
}

namespace {

capnp::ReaderOptions readerOptions(uint64_t words) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words;
  return options;
}

capnp::rpc::twoparty::Side otherSide(capnp::rpc::twoparty::Side side) {
  return side == capnp::rpc::twoparty::Side::CLIENT ? capnp::rpc::twoparty::Side::SERVER
                                                     : capnp::rpc::twoparty::Side::CLIENT;
}

}  // namespace

kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> BoundedMessageStream::tryReadMessage(
    kj::ArrayPtr<kj::AutoCloseFd> fdSpace, capnp::ReaderOptions options,
    kj::ArrayPtr<capnp::word> scratchSpace) {
  // The network passes its own options, whose limit is the one for what we send.
  options.traversalLimitInWords = readWords;
  return inner.tryReadMessage(fdSpace, options, scratchSpace);
}

kj::Promise<void> BoundedMessageStream::writeMessage(
    kj::ArrayPtr<const int> fds, kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  return inner.writeMessage(fds, segments);
}

kj::Promise<void> BoundedMessageStream::writeMessages(
    kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) {
  return inner.writeMessages(messages);
}

// capnp 0.9's two-party network refuses to send a message at or past its receiveOptions'
// limit; it gets the other end's read limit, so that what we send is what it accepts.
Link::Link(kj::Own<kj::AsyncIoStream> s, const Socket& socket)
    : stream(kj::mv(s)), messages(*stream, socket.peerReadWords),
      network(messages, capnp::rpc::twoparty::Side::CLIENT, readerOptions(socket.hubReadWords)),
      rpc(capnp::makeRpcClient(network)) {}

Link::Link(kj::Own<kj::AsyncIoStream> s, const Socket& socket, capnp::Capability::Client bootstrap)
    : stream(kj::mv(s)), messages(*stream, socket.hubReadWords),
      network(messages, capnp::rpc::twoparty::Side::SERVER, readerOptions(socket.peerReadWords)),
      rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}

capnp::Capability::Client Link::bootstrap() {
  capnp::word scratch[4];
  memset(scratch, 0, sizeof(scratch));
  capnp::MallocMessageBuilder message(scratch);
  auto vatId = message.getRoot<capnp::rpc::twoparty::VatId>();
  vatId.setSide(otherSide(network.getSide()));
  return rpc.bootstrap(vatId);
}

// ---- client side ----

Endpoint clockdEndpoint(const Config& config, const Socket& socket) {
  kj::Vector<uid_t> uids;
  uids.add(0);
  if (geteuid() != 0) uids.add(geteuid());
  const passwd* pw = getpwnam(config.user(horloge::Role::CLOCKD).c_str());
  if (pw != nullptr && pw->pw_uid != 0 && pw->pw_uid != geteuid()) uids.add(pw->pw_uid);
  return {socketPath(config, socket), socket, uids.releaseAsArray()};
}

namespace {

// The uid of the process that listens on the other end of `stream` (it bound the socket).
kj::Maybe<uid_t> listenerUid(kj::AuthenticatedStream& s) {
  KJ_IF_MAYBE(local, kj::dynamicDowncastIfAvailable<kj::LocalPeerIdentity>(*s.peerIdentity)) {
    KJ_IF_MAYBE(uid, local->getCredentials().uid) return uid_t(*uid);
  }
  return nullptr;
}

}  // namespace

kj::Promise<kj::Own<Link>> connect(kj::AsyncIoContext& io, const Endpoint& endpoint) {
  return io.provider->getNetwork().parseAddress(kj::str("unix:", endpoint.path))
      .then([](kj::Own<kj::NetworkAddress> addr) { return addr->connectAuthenticated(); })
      .then([&endpoint](kj::AuthenticatedStream s) {
        // Checked before the first byte goes out: an impostor learns nothing from us.
        KJ_IF_MAYBE(uid, listenerUid(s)) {
          for (uid_t trusted: endpoint.trustedUids) {
            if (*uid == trusted) return kj::heap<Link>(kj::mv(s.stream), endpoint.socket);
          }
          kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
              kj::str(endpoint.path, " is served by uid ", *uid,
                      ", which is neither clockd's user nor root: not trusted")));
        }
        kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
            kj::str(endpoint.path, ": no credentials for its server: not trusted")));
      });
}

namespace {

constexpr auto MIN_BACKOFF = 100 * kj::MILLISECONDS;
constexpr auto MAX_BACKOFF = 5 * kj::SECONDS;
constexpr auto STABLE_SESSION = 10 * kj::SECONDS;

struct Reconnector {
  kj::AsyncIoContext& io;
  Endpoint endpoint;
  kj::String peerName;
  Session session;
  kj::Duration backoff = MIN_BACKOFF;
  bool wasConnected = false;
  bool failureLogged = false;   // one line per outage, not one per retry

  void ended(kj::StringPtr why) {
    if (wasConnected) {
      log::warn(kj::str("lost ", peerName, ": ", why, "; reconnecting"));
    } else if (!failureLogged) {
      log::warn(kj::str("cannot reach ", peerName, " at ", endpoint.path, ": ", why, "; retrying"));
    }
    failureLogged = true;
    wasConnected = false;
  }

  kj::Promise<void> attempt() {
    kj::TimePoint started = io.provider->getTimer().now();
    return connect(io, endpoint)
        .then([this](kj::Own<Link> link) {
          if (!wasConnected) log::info(kj::str("connected to ", peerName));
          wasConnected = true;
          failureLogged = false;
          auto disconnected = link->onDisconnect();
          return session(link->bootstrap()).exclusiveJoin(kj::mv(disconnected)).attach(kj::mv(link));
        })
        .then([this]() { ended("the connection closed"); },
              [this](kj::Exception&& e) { ended(e.getDescription()); })
        .then([this, started]() {
          if (io.provider->getTimer().now() - started >= STABLE_SESSION) backoff = MIN_BACKOFF;
          auto wait = backoff;
          backoff = kj::min(backoff * 2, MAX_BACKOFF);
          return io.provider->getTimer().afterDelay(wait);
        })
        .then([this]() { return attempt(); });
  }
};

}  // namespace

kj::Promise<void> keepConnected(kj::AsyncIoContext& io, Endpoint endpoint, kj::String peerName,
                                Session session) {
  auto r = kj::heap<Reconnector>(
      Reconnector{io, kj::mv(endpoint), kj::mv(peerName), kj::mv(session)});
  auto promise = r->attempt();
  return promise.attach(kj::mv(r));
}

// ---- server side ----

namespace {

kj::String octal(mode_t mode) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%04o", unsigned(mode));
  return kj::str(buf);
}

}  // namespace

void secureDirectory(kj::StringPtr path, mode_t mode, SocketOwner owner, kj::StringPtr what) {
  auto fail = [&](kj::StringPtr why) {
    kj::throwFatalException(kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                                          kj::str(what, " ", path, ": ", why)));
  };
  if (mkdir(path.cStr(), mode) < 0 && errno != EEXIST) fail(strerror(errno));
  struct stat st;
  if (stat(path.cStr(), &st) < 0) fail(strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail("not a directory");
  if (st.st_uid != 0 && st.st_uid != owner.uid && st.st_uid != geteuid()) {
    fail(kj::str("owned by uid ", st.st_uid, ", neither root nor uid ", owner.uid,
                 ": another user could replace what is in it; refusing it"));
  }
  if (geteuid() == 0 && (st.st_uid != owner.uid || st.st_gid != owner.gid)) {
    if (chown(path.cStr(), owner.uid, owner.gid) < 0) fail(strerror(errno));
  }
  mode_t bits = st.st_mode & 07777;
  if ((bits & 022) != 0) {
    // Whoever may write in it may rename our sockets away and put a listener of their own.
    if (chmod(path.cStr(), bits & ~mode_t(022)) < 0) {
      fail(kj::str("writable by ", (bits & 002) ? "others" : "its group", " (mode ",
                   octal(bits), ") and not ours to repair (", strerror(errno), "); refusing it"));
    }
    log::warn(kj::str(what, " ", path, " was writable by ", (bits & 002) ? "others" : "its group",
                      " (mode ", octal(bits), "): no longer (now ", octal(bits & ~mode_t(022)),
                      ")"));
  }
}

namespace {

// The listening Unix socket systemd bound at `path` for us, or -1.
int handedUnixSocket(kj::StringPtr path) {
  static const std::vector<systemd::ListenFd> handed = systemd::takeListenFds();
  for (const auto& h: handed) {
    sockaddr_un addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(h.fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) continue;
    if (addr.sun_family != AF_UNIX || len <= offsetof(sockaddr_un, sun_path)) continue;
    size_t n = strnlen(addr.sun_path, len - offsetof(sockaddr_un, sun_path));
    if (kj::StringPtr(path) == kj::heapString(addr.sun_path, n)) return h.fd;
  }
  return -1;
}

}  // namespace

kj::Own<kj::ConnectionReceiver> listenUnix(kj::AsyncIoContext& io, kj::StringPtr path,
                                           SocketOwner owner) {
  int fd = handedUnixSocket(path);
  if (fd >= 0) {
    struct stat st;
    KJ_SYSCALL(stat(path.cStr(), &st), path);
    KJ_REQUIRE(S_ISSOCK(st.st_mode) && st.st_uid == owner.uid && st.st_gid == owner.gid &&
               (st.st_mode & 07777) == owner.mode,
               "handed socket has the wrong owner or mode (check the .socket unit)", path,
               st.st_uid, st.st_gid, st.st_mode & 07777, owner.uid, owner.gid, owner.mode);
    log::info(kj::str("using ", path, " handed over by systemd"));
    return io.lowLevelProvider->wrapListenSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  }
  if (unlink(path.cStr()) < 0 && errno != ENOENT) KJ_FAIL_SYSCALL("unlink", errno, path);
  auto addr = io.provider->getNetwork().parseAddress(kj::str("unix:", path)).wait(io.waitScope);
  auto listener = addr->listen();
  KJ_SYSCALL(chown(path.cStr(), owner.uid, owner.gid), path);
  KJ_SYSCALL(chmod(path.cStr(), owner.mode), path);
  return listener;
}

namespace {

// The stream under a served connection, as the server watches it: whether the peer has said
// anything yet, and no further request read while `refuse` says so (its replies pile up).
class WatchedStream final: public ForwardingStream {
public:
  explicit WatchedStream(kj::Own<kj::AsyncIoStream> inner): ForwardingStream(kj::mv(inner)) {}
  bool heard = false;
  kj::Function<bool()> refuse = []() { return false; };

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    if (refuse()) return kj::NEVER_DONE;
    return inner->tryRead(buffer, minBytes, maxBytes).then([this](size_t n) {
      if (n > 0) heard = true;
      return n;
    });
  }
};

constexpr auto SWEEP = 1 * kj::SECONDS;

struct Server {
  kj::Timer& timer;
  kj::ConnectionReceiver& listener;
  Socket socket;
  kj::Array<uid_t> allowed;
  BootstrapFactory factory;
  log::RateLimited refusals{30};

  struct Peer {
    WatchedStream& stream;   // under link
    Link link;
    kj::TimePoint accepted;
    kj::Own<kj::PromiseFulfiller<void>> drop;   // fulfilled: the connection is closed

    Peer(Server& server, kj::Own<WatchedStream> s, capnp::Capability::Client bootstrap,
         kj::Own<kj::PromiseFulfiller<void>> drop)
        : stream(*s), link(kj::mv(s), server.socket, kj::mv(bootstrap)),
          accepted(server.timer.now()), drop(kj::mv(drop)) {
      // Checked before each read as well as by the sweep: a peer that asks faster than it
      // reads is stopped at the limit, not a second later.
      stream.refuse = [this, &server]() { return server.flooding(*this); };
    }
  };

  bool flooding(Peer& peer) {
    if (peer.link.queuedBytes() <= socket.maxQueuedBytes) return false;
    if (peer.drop->isWaiting()) {
      refusals.warn(kj::str(socket.name, ": a peer left ", peer.link.queuedBytes(),
                            " bytes of replies unread; closed"));
      peer.drop->fulfill();
    }
    return true;
  }
  kj::Vector<Peer*> live;   // declared before `tasks`, which owns them and unlists each one

  struct Errors: kj::TaskSet::ErrorHandler {
    kj::StringPtr what;
    void taskFailed(kj::Exception&& e) override {
      log::warn(kj::str(what, " peer: ", e.getDescription()));
    }
  } errors;
  kj::TaskSet tasks;

  Server(kj::Timer& t, kj::ConnectionReceiver& l, const Socket& s, kj::Array<uid_t> a,
         BootstrapFactory f)
      : timer(t), listener(l), socket(s), allowed(kj::mv(a)), factory(kj::mv(f)), tasks(errors) {
    errors.what = socket.name;
  }

  bool permitted(kj::AuthenticatedStream& s) {
    if (allowed.size() == 0) return true;
    KJ_IF_MAYBE(local, kj::dynamicDowncastIfAvailable<kj::LocalPeerIdentity>(*s.peerIdentity)) {
      KJ_IF_MAYBE(uid, local->getCredentials().uid) {
        for (uid_t u: allowed) if (u == *uid) return true;
        refusals.warn(kj::str(socket.name, ": refused a peer with uid ", *uid));
        return false;
      }
    }
    refusals.warn(kj::str(socket.name, ": refused a peer without credentials"));
    return false;
  }

  void admit(kj::Own<kj::AsyncIoStream> stream) {
    auto paf = kj::newPromiseAndFulfiller<void>();
    auto peer = kj::heap<Peer>(*this, kj::heap<WatchedStream>(kj::mv(stream)), factory(),
                               kj::mv(paf.fulfiller));
    Peer* p = peer.get();
    live.add(p);
    auto unlist = kj::defer([this, p]() {
      for (size_t i = 0; i < live.size(); ++i) {
        if (live[i] == p) {
          live[i] = live.back();
          live.removeLast();
          break;
        }
      }
    });
    tasks.add(p->link.onDisconnect().exclusiveJoin(kj::mv(paf.promise))
                  .attach(kj::mv(peer), kj::mv(unlist)));
  }

  kj::Promise<void> acceptLoop() {
    return listener.acceptAuthenticated().then([this](kj::AuthenticatedStream s) {
      if (!permitted(s)) {
        // Dropping the stream closes it.
      } else if (live.size() >= socket.maxConnections) {
        refusals.warn(kj::str(socket.name, ": ", socket.maxConnections,
                              " connections already; closing a new one"));
      } else {
        admit(kj::mv(s.stream));
      }
      return acceptLoop();
    });
  }

  // Peers that never spoke, or do not read what they asked for, lose their connection.
  kj::Promise<void> sweepLoop() {
    return timer.afterDelay(SWEEP).then([this]() {
      auto now = timer.now();
      for (Peer* peer: live) {
        if (!peer->drop->isWaiting()) continue;
        if (!peer->stream.heard && now - peer->accepted >= socket.silentLimit) {
          refusals.warn(kj::str(socket.name, ": a peer said nothing for ",
                                socket.silentLimit / kj::MILLISECONDS, " ms; closed"));
          peer->drop->fulfill();
        } else {
          flooding(*peer);
        }
      }
      return sweepLoop();
    });
  }
};

}  // namespace

kj::Promise<void> serve(kj::Timer& timer, kj::ConnectionReceiver& listener, const Socket& socket,
                        kj::Array<uid_t> allowedUids, BootstrapFactory factory) {
  auto server = kj::heap<Server>(timer, listener, socket, kj::mv(allowedUids), kj::mv(factory));
  auto promise = server->acceptLoop().exclusiveJoin(server->sweepLoop());
  return promise.attach(kj::mv(server));
}

}  // namespace horloge::ipc
