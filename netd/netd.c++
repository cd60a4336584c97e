// horloge-netd: answers NTP on the UDP sockets it is handed (socket activation, "ntp"), with
// the server state clockd pushes over netd.sock. While clockd is away it keeps answering with
// the last state, its root dispersion growing, and past maxholdover it says LI=3, stratum 16;
// a restarted clockd that has no state of its own yet does not change that (state-listener.h).
#include "clockd-feed.h"
#include "daemon.h"
#include "error-text.h"
#include "host-info.h"
#include "ipc.h"
#include "log.h"
#include "ntp-time.h"
#include "own-addresses.h"
#include "responder.h"
#include "sandbox.h"
#include "systemd.h"
#include "upstream.h"
#include <capnp/message.h>
#include <kj/async-io.h>
#include <kj/debug.h>
#include <kj/vector.h>
#include <unistd.h>

namespace horloge::netd {
namespace {

constexpr auto WATCHDOG_INTERVAL = 1 * kj::SECONDS;
constexpr int64_t WORKER_STALL_NS = 5 * ntp::NS_PER_S;

int8_t clockPrecision() {
  timespec res;
  if (clock_getres(CLOCK_REALTIME, &res) < 0) return -20;
  return ntp::precisionFromNs(ntp::toNs(res));
}

// Tells systemd we are alive only while every worker keeps looping.
kj::Promise<void> watchdog(kj::Timer& timer, const Responder& responder) {
  return timer.afterDelay(WATCHDOG_INTERVAL).then([&timer, &responder]() {
    if (monotonicNs() - responder.oldestHeartbeatNs() < WORKER_STALL_NS) {
      systemd::notifyWatchdog();
    }
    return watchdog(timer, responder);
  });
}

int run(int argc, char** argv) {
  Config config = startDaemon(Role::NETD, argc, argv);
  int64_t startedNs = realtimeNs();

  kj::Vector<int> fds;
  for (auto& fd: systemd::takeListenFds()) {
    if (fd.name == "ntp") {
      fds.add(fd.fd);
    } else {
      log::warn(kj::str("closing unexpected handed socket '", fd.name, "'"));
      close(fd.fd);
    }
  }
  if (fds.empty()) {
    log::error("no 'ntp' socket handed (LISTEN_FDS/LISTEN_FDNAMES): nothing to answer on");
    return 1;
  }

  auto io = kj::setupAsyncIo();
  Snapshot initial;
  initial.precision = clockPrecision();
  StateCell cell(initial);
  ResponderOptions options;
  options.workersPerSocket = resolveWorkers(config.workers);
  options.maxHoldoverNs = static_cast<int64_t>(config.maxHoldover * ntp::NS_PER_S);

  // Abuse resistance, all set up before lockdown (getifaddrs needs a netlink socket).
  auto own = ownAddressRules(fds.asPtr());
  AccessList ownAddresses(kj::arrayPtr(own.data(), own.size()));
  auto rules = kj::arrayPtr(config.access.data(), config.access.size());
  bool anyAllow = !AccessList::clientDefault(rules);
  AccessList access(rules, !anyAllow);
  options.ownAddresses = &ownAddresses;
  if (!access.empty()) options.access = &access;
  kj::Maybe<kj::Own<RateLimiter>> limiter;
  if (config.ratelimit.enabled) {
    auto& r = config.ratelimit;
    auto l = RateLimiter::withRandomKey(RateLimitOptions{r.interval, r.burst, r.leak, r.kod});
    options.rateLimiter = l.get();
    limiter = kj::mv(l);
  }
  log::info(kj::str(own.size(), " own address(es) never answered; ", config.access.size(),
                    " allow/deny rule(s)", anyAllow ? " (only allowed clients answered)" : "",
                    "; rate limit ",
                    config.ratelimit.enabled ? "on" : "off"));
  auto topClients = TopClients::withRandomKey();   // `horlogectl clients`
  options.topClients = topClients.get();
  NtsKeyCell ntsKeys;   // NTS: clockd's keys, for the workers
  if (config.nts.enabled) options.ntsKeys = &ntsKeys;
  Responder responder(fds.asPtr(), cell, options);

  // Who may serve netd.sock is looked up now: no user database after lockdown.
  auto clockd = ipc::clockdEndpoint(config, ipc::NETD_SOCKET);
  auto user = lockdownUserName(config, Role::NETD);
  try {
    lockdown(Role::NETD, {config.user(Role::NETD), false, config.seccomp, !config.servers.empty()});
  } catch (const std::exception& e) {
    log::error(kj::str("lockdown failed: ", e.what()));
    return 1;
  }

  capnp::MallocMessageBuilder infoMessage;
  auto info = infoMessage.initRoot<ipc::DaemonInfo>();
  ipc::fillDaemonInfo(info, Role::NETD, startedNs);
  info.setUser(user);

  ClockdFeed feed(io.provider->getTimer(), cell, [&responder]() { return responder.stats(); },
                  info.asReader(), options.maxHoldoverNs);
  feed.setTopClients(topClients.get());
  if (config.nts.enabled) feed.setNtsKeys(&ntsKeys);
  // Relay mode: the upstream servers' samples go to clockd over the same connection.
  Upstream upstream(io.provider->getTimer(), io.unixEventPort, config.servers, cell);
  auto connected = ipc::keepConnected(
      io, kj::mv(clockd), kj::str("clockd"),
      [&feed, &upstream](capnp::Capability::Client bootstrap) {
        upstream.setFeed(bootstrap.castAs<ipc::NetdFeed>());
        return feed.session(kj::mv(bootstrap)).catch_([&upstream](kj::Exception&& e) {
          upstream.setFeed(nullptr);
          return kj::Promise<void>(kj::mv(e));
        });
      });
  if (upstream.size() > 0) log::info(kj::str("relay mode: polling ", upstream.size(), " server(s)"));

  auto status = kj::str("answering NTP on ", fds.size(), " socket(s) with ",
                        options.workersPerSocket, " worker(s) each");
  log::info(status);
  systemd::notifyReady(status.cStr());

  // Neither promise resolves: netd runs until a signal ends it.
  connected.exclusiveJoin(watchdog(io.provider->getTimer(), responder))
      .exclusiveJoin(upstream.run())
      .wait(io.waitScope);
  return 0;
}

}  // namespace
}  // namespace horloge::netd

int main(int argc, char** argv) {
  int status = 1;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { status = horloge::netd::run(argc, argv); })) {
    horloge::log::error(horloge::errorText(*e));
    return 1;
  }
  return status;
}
