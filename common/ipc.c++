#include "ipc.h"
#include "log.h"
#include "ntp-time.h"
#include "proc-status.h"
#include "systemd.h"
#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace horloge::ipc {

kj::String socketPath(const Config& config, kj::StringPtr name) {
  return kj::str(config.rundir, "/", name);
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

constexpr auto MIN_BACKOFF = 100 * kj::MILLISECONDS;
constexpr auto MAX_BACKOFF = 5 * kj::SECONDS;
constexpr auto STABLE_SESSION = 10 * kj::SECONDS;

struct Connection {
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyClient rpc;   // declared after the stream, so destroyed before it
  Connection(kj::Own<kj::AsyncIoStream> s): stream(kj::mv(s)), rpc(*stream) {}
  Connection(kj::Own<kj::AsyncIoStream> s, capnp::Capability::Client bootstrap)
      : stream(kj::mv(s)), rpc(*stream, kj::mv(bootstrap), capnp::rpc::twoparty::Side::SERVER) {}
};

struct Reconnector {
  kj::AsyncIoContext& io;
  kj::String path;
  kj::String peerName;
  Session session;
  kj::Duration backoff = MIN_BACKOFF;
  bool wasConnected = false;
  bool failureLogged = false;   // one line per outage, not one per retry

  void ended(kj::StringPtr why) {
    if (wasConnected) {
      log::warn(kj::str("lost ", peerName, ": ", why, "; reconnecting"));
    } else if (!failureLogged) {
      log::warn(kj::str("cannot reach ", peerName, " at ", path, ": ", why, "; retrying"));
    }
    failureLogged = true;
    wasConnected = false;
  }

  kj::Promise<void> attempt() {
    kj::TimePoint started = io.provider->getTimer().now();
    return io.provider->getNetwork().parseAddress(kj::str("unix:", path))
        .then([](kj::Own<kj::NetworkAddress> addr) { return addr->connect(); })
        .then([this](kj::Own<kj::AsyncIoStream> stream) {
          auto conn = kj::heap<Connection>(kj::mv(stream));
          if (!wasConnected) log::info(kj::str("connected to ", peerName));
          wasConnected = true;
          failureLogged = false;
          auto disconnected = conn->rpc.onDisconnect();
          return session(conn->rpc.bootstrap()).exclusiveJoin(kj::mv(disconnected)).attach(kj::mv(conn));
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

kj::Promise<void> keepConnected(kj::AsyncIoContext& io, kj::String path, kj::String peerName,
                                Session session) {
  auto r = kj::heap<Reconnector>(Reconnector{io, kj::mv(path), kj::mv(peerName), kj::mv(session)});
  auto promise = r->attempt();
  return promise.attach(kj::mv(r));
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

struct Server {
  kj::ConnectionReceiver& listener;
  kj::Array<uid_t> allowed;
  BootstrapFactory factory;
  kj::String what;
  kj::TaskSet tasks;

  struct Errors: kj::TaskSet::ErrorHandler {
    kj::StringPtr what;
    void taskFailed(kj::Exception&& e) override {
      log::warn(kj::str(what, " peer: ", e.getDescription()));
    }
  } errors;

  Server(kj::ConnectionReceiver& l, kj::Array<uid_t> a, BootstrapFactory f, kj::StringPtr w)
      : listener(l), allowed(kj::mv(a)), factory(kj::mv(f)), what(kj::str(w)), tasks(errors) {
    errors.what = what;
  }

  bool permitted(kj::AuthenticatedStream& s) {
    if (allowed.size() == 0) return true;
    KJ_IF_MAYBE(local, kj::dynamicDowncastIfAvailable<kj::LocalPeerIdentity>(*s.peerIdentity)) {
      KJ_IF_MAYBE(uid, local->getCredentials().uid) {
        for (uid_t u: allowed) if (u == *uid) return true;
        log::warn(kj::str(what, ": refused a peer with uid ", *uid));
        return false;
      }
    }
    log::warn(kj::str(what, ": refused a peer without credentials"));
    return false;
  }

  kj::Promise<void> loop() {
    return listener.acceptAuthenticated().then([this](kj::AuthenticatedStream s) {
      if (permitted(s)) {
        auto conn = kj::heap<Connection>(kj::mv(s.stream), factory());
        auto done = conn->rpc.onDisconnect();
        tasks.add(done.attach(kj::mv(conn)));
      }
      return loop();
    });
  }
};

}  // namespace

kj::Promise<void> serve(kj::ConnectionReceiver& listener, kj::Array<uid_t> allowedUids,
                        BootstrapFactory factory, kj::StringPtr what) {
  auto server = kj::heap<Server>(listener, kj::mv(allowedUids), kj::mv(factory), what);
  auto promise = server->loop();
  return promise.attach(kj::mv(server));
}

}  // namespace horloge::ipc
