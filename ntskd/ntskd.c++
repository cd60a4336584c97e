// horloge-ntskd: the NTS key exchange (RFC 8915 §4) on the TCP socket it is handed (socket
// activation, "ntske"), TLS 1.3 with ALPN ntske/1 over OpenSSL. It seals each exchange's
// session keys into cookies under the server key clockd pushes over ntske.sock; netd opens
// them. No capability, no UDP, no clock access, no file opened after lockdown.
#include "clockd-link.h"
#include "daemon.h"
#include "ipc.h"
#include "ke-server.h"
#include "log.h"
#include "ntp-time.h"
#include "sandbox.h"
#include "systemd.h"
#include "tls.h"
#include <capnp/message.h>
#include <kj/async-io.h>
#include <kj/debug.h>
#include <kj/vector.h>
#include <openssl/ssl.h>
#include <unistd.h>

namespace horloge::ntskd {
namespace {

int run(int argc, char** argv) {
  Config config = startDaemon(Role::NTSKD, argc, argv);
  int64_t startedNs = realtimeNs();
  if (!config.nts.enabled) {
    log::error("NTS is off (no `nts cert PATH key PATH` line): nothing to do");
    return 1;
  }
  kj::Vector<int> fds;
  for (auto& fd: systemd::takeListenFds()) {
    if (fd.name == "ntske" && fds.empty()) {
      fds.add(fd.fd);
    } else {
      log::warn(kj::str("closing unexpected handed socket '", fd.name.c_str(), "'"));
      close(fd.fd);
    }
  }
  if (fds.empty()) {
    log::error("no 'ntske' socket handed (LISTEN_FDS/LISTEN_FDNAMES): nothing to serve on");
    return 1;
  }

  auto io = kj::setupAsyncIo();
  ServerCertificate tls(kj::str(config.nts.cert.c_str()), kj::str(config.nts.key.c_str()));
  KeOptions options;
  options.maxConnections = config.nts.maxConnections;
  options.server = kj::str(config.nts.ntpServer.c_str());
  // Clients assume port 123: say otherwise only when netd listens elsewhere.
  if (!config.listen.empty() && config.listen[0].port != 123) options.port = config.listen[0].port;
  options.rateLimit = keRateLimiter(config.nts.ratelimit);   // getrandom() before lockdown
  KeServer server(io.unixEventPort, io.provider->getTimer(), fds[0], tls, kj::mv(options));

  // Who may be clockd on ntske.sock: looked up before lockdown.
  ipc::Endpoint clockd = ipc::clockdEndpoint(config, ipc::NTSKE_SOCKET);
  try {
    lockdown(Role::NTSKD, {config.user(Role::NTSKD), false, config.seccomp});
  } catch (const std::exception& e) {
    log::error(kj::str("lockdown failed: ", e.what()));
    return 1;
  }

  capnp::MallocMessageBuilder infoMessage;
  auto info = infoMessage.initRoot<ipc::DaemonInfo>();
  ipc::fillDaemonInfo(info, Role::NTSKD, startedNs);
  ClockdLink link(io.provider->getTimer(), server, info.asReader());
  auto connected = ipc::keepConnected(
      io, kj::mv(clockd), kj::str("clockd"),
      [&link](capnp::Capability::Client bootstrap) { return link.session(kj::mv(bootstrap)); });

  auto& rate = config.nts.ratelimit;
  auto status = kj::str("NTS-KE on TCP (at most ", config.nts.maxConnections, " sessions at once",
                        rate.enabled ? kj::str(", per address a burst of ", rate.burst,
                                               " then one per 2^", rate.interval, " s")
                                     : kj::str(), ")");
  log::info(status);
  systemd::notifyReady(status.cStr());
  connected.exclusiveJoin(server.run())
      .exclusiveJoin(systemd::watchdogLoop(io.provider->getTimer()))
      .wait(io.waitScope);
  return 0;
}

}  // namespace
}  // namespace horloge::ntskd

int main(int argc, char** argv) {
  int status = 1;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { status = horloge::ntskd::run(argc, argv); })) {
    horloge::log::error(kj::str(e->getDescription()));
    return 1;
  }
  return status;
}
