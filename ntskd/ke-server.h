// The NTS-KE server (RFC 8915 §4) on the TCP socket ntskd is handed: one TLS 1.3 session per
// connection, one request, one response (NTPv4, AES-SIV-CMAC-256, COOKIES_PER_EXCHANGE
// cookies sealed under clockd's current key), then the connection is closed. Everything runs
// on the KJ event loop: non-blocking sockets, OpenSSL driven by their readiness.
//
// Abuse: with `nts ratelimit`, a client address over its rate is closed as it is accepted; at
// most `maxConnections` sessions at once (more are closed as they are accepted); each has
// `timeout` to finish, handshake included (idle or slow clients are cut off). Every accepted
// connection ends counted in one outcome.
#pragma once
#include "admission.h"
#include "cookie.h"
#include "ke-records.h"
#include "tls.h"
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/timer.h>

typedef struct ssl_ctx_st SSL_CTX;

namespace horloge::ntskd {

constexpr unsigned COOKIES_PER_EXCHANGE = 8;

struct KeOptions {
  unsigned maxConnections = 100;
  kj::Duration timeout = 5 * kj::SECONDS;
  kj::String server;               // NTPv4 Server Negotiation record; empty: none
  uint16_t port = 0;               // NTPv4 Port Negotiation record; 0: none
  kj::Own<netd::RateLimiter> rateLimit;   // `nts ratelimit` (keRateLimiter); null: off
};

struct KeStats {
  uint64_t sessions = 0, completed = 0, cookiesIssued = 0;
  uint32_t open = 0;
  uint64_t refusedBusy = 0, refusedRate = 0, failedHandshake = 0, failedAlpn = 0;
  uint64_t failedTimeout = 0;
  uint64_t failedTruncated = 0, failedOversized = 0, failedUnknownCritical = 0;
  uint64_t failedBadRequest = 0, failedIo = 0;
};

class KeServer {
public:
  // `listenFd` (non-blocking afterwards; not owned) and `tls` must outlive the server.
  KeServer(kj::UnixEventPort& events, kj::Timer& timer, int listenFd, ServerCertificate& tls,
           KeOptions options);
  ~KeServer() noexcept(false);
  KJ_DISALLOW_COPY(KeServer);

  // Accepts forever; checks the certificate files for a replacement every 10 s.
  kj::Promise<void> run();

  // clockd's keys, checked by the caller (nts::keySetFromWire). Until the first set, requests
  // get an Internal Server Error record (counted in failedIo).
  void setKeys(nts::KeySet keys);
  const kj::Maybe<nts::KeySet>& keys() const { return keySet; }

  const KeStats& stats() const { return counters; }

private:
  struct Session;
  kj::UnixEventPort& events;
  kj::Timer& timer;
  int listenFd;
  ServerCertificate& tls;
  KeOptions options;
  Admission admission;
  kj::UnixEventPort::FdObserver listenObserver;
  kj::Maybe<nts::KeySet> keySet;
  kj::Own<nts::AesSiv> siv;
  KeStats counters;
  struct ErrorHandler: kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&& e) override;
  } errors;
  kj::TaskSet tasks;   // the open sessions; after `errors`, which it uses

  kj::Promise<void> acceptLoop();
  kj::Promise<void> watchCertificate();
  void startSession(int fd);
  kj::Promise<void> handshake(Session& s);
  kj::Promise<void> readRequest(Session& s);
  kj::Promise<void> writeResponse(Session& s);
  kj::Array<uint8_t> respond(Session& s, const nts::KeRequest& request);
  void finish(Session& s, uint64_t KeStats::*outcome);
  kj::Promise<void> waitFor(Session& s, int sslError, kj::Promise<void> (KeServer::*next)(Session&));
};

}  // namespace horloge::ntskd
