// horloge-monitord: HTTPS status for operators and health checkers. Reads clockd's status
// socket, never writes to any daemon; holds no capability and no file once locked down.
#include "clockd-link.h"
#include "daemon.h"
#include "http-service.h"
#include "history.h"
#include "host-info.h"
#include "https-server.h"
#include "ipc.h"
#include "log.h"
#include "ntp-time.h"
#include "sandbox.h"
#include "systemd.h"
#include "tls-setup.h"
#include <capnp/message.h>
#include <cstdlib>
#include <kj/debug.h>

namespace horloge::monitord {
namespace {

// The socket horloge-launch (or systemd) bound for us, or -1.
int takeHttpsFd() {
  int found = -1;
  for (auto& fd: systemd::takeListenFds()) {
    if (fd.name == "https" && found < 0) found = fd.fd;
  }
  return found;
}

// Feeds the dashboard's history: one getStatus every interval, skipped while clockd is away.
kj::Promise<void> sampleLoop(kj::Timer& timer, ClockdLink& clockd, History& history) {
  kj::Promise<void> asked = kj::READY_NOW;
  KJ_IF_MAYBE(reader, clockd.reader()) {
    asked = reader->getStatusRequest().send()
        .then([&history](auto&& answer) { history.add(answer.getStatus()); })
        .exclusiveJoin(timer.afterDelay(2 * kj::SECONDS))
        .catch_([](kj::Exception&&) {});
  }
  auto interval = int64_t(history.interval() * 1000) * kj::MILLISECONDS;
  return asked.then([&timer, &clockd, &history, interval]() {
    return timer.afterDelay(interval);
  }).then([&timer, &clockd, &history]() { return sampleLoop(timer, clockd, history); });
}

int run(const Config& config) {
  int64_t startedNs = realtimeNs();
  auto io = kj::setupAsyncIo();
  HttpsLimits limits;

  int fd = takeHttpsFd();
  if (fd < 0) {
    log::error("no listening socket named \"https\" was passed (LISTEN_FDS)");
    return 1;
  }
  auto port = io.lowLevelProvider->wrapListenSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  auto clientCa = loadClientCa(config);
  kj::Maybe<const kj::TlsCertificate&> ca;
  KJ_IF_MAYBE(c, clientCa) ca = *c;
  // kj's own handshake deadline is a backstop: HttpsServer cuts slow handshakes first, and
  // sooner when its slots are busy.
  auto tls = makeTlsContext(loadKeypair(config), io.provider->getTimer(),
                            limits.slots.handshake + 1 * kj::SECONDS, ca);
  auto token = loadToken(config);
  ClientAccess access(config.monitorAllow);
  if (!access.restricted()) log::info("no `monitor allow`: any address may connect");

  // Who may serve status.sock is looked up now: no user database after lockdown.
  auto clockdSocket = ipc::clockdEndpoint(config, ipc::STATUS_SOCKET);

  auto user = lockdownUserName(config, Role::MONITORD);
  lockdown(Role::MONITORD, {config.user(Role::MONITORD), false, config.seccomp});

  capnp::MallocMessageBuilder selfMessage;
  auto self = selfMessage.initRoot<ipc::DaemonInfo>();
  ipc::fillDaemonInfo(self, Role::MONITORD, startedNs);
  self.setUser(user);

  ClockdLink clockd(io, kj::mv(clockdSocket));
  auto link = clockd.run();

  kj::HttpHeaderTable::Builder headers;
  MonitorService service(headers, io.provider->getTimer(), [&clockd]() { return clockd.reader(); },
                         self.asReader());
  KJ_IF_MAYBE(t, token) service.requireToken(kj::mv(*t));
  History history(config.monitorHistory);
  service.setHistory(history);
  auto headerTable = headers.build();
  HttpsServer server(io.provider->getTimer(), *tls, *headerTable, service, limits, &access);
  service.setConnectionStats(server.stats());

  // The socket's own port, not the configuration's: the launcher is what bound it.
  auto where = kj::str("serving HTTPS on port ", port->getPort());
  log::info(where);
  systemd::notifyReady(where.cStr());

  server.listen(*port).exclusiveJoin(kj::mv(link))
      .exclusiveJoin(sampleLoop(io.provider->getTimer(), clockd, history))
      .exclusiveJoin(systemd::watchdogLoop(io.provider->getTimer())).wait(io.waitScope);
  log::error("listening socket failed");
  return 1;
}

}  // namespace
}  // namespace horloge::monitord

int main(int argc, char** argv) {
  using namespace horloge;
  Config config = startDaemon(Role::MONITORD, argc, argv);
  return runDaemon([&]() { return monitord::run(config); });
}
