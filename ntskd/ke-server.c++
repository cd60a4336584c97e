#include "ke-server.h"
#include "log.h"
#include "ntp-time.h"
#include <cerrno>
#include <fcntl.h>
#include <kj/debug.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace horloge::ntskd {

struct KeServer::Session {
  kj::AutoCloseFd fd;   // closed after `observer` has left the event port
  SSL* ssl;
  uint32_t& open;
  kj::UnixEventPort::FdObserver observer;
  kj::Vector<uint8_t> in;
  kj::Array<uint8_t> out;
  size_t written = 0;
  uint64_t KeStats::*result = nullptr;   // the outcome to count once the response is out
  bool done = false;

  Session(kj::UnixEventPort& events, int fd, SSL* ssl, uint32_t& open)
      : fd(kj::AutoCloseFd(fd)), ssl(ssl), open(open),
        observer(events, fd,
                 kj::UnixEventPort::FdObserver::OBSERVE_READ |
                     kj::UnixEventPort::FdObserver::OBSERVE_WRITE) {
    ++open;
  }
  ~Session() {
    SSL_free(ssl);
    --open;
  }
};

void KeServer::ErrorHandler::taskFailed(kj::Exception&& e) {
  log::warn(kj::str("NTS-KE session: ", e.getDescription()));
}

KeServer::KeServer(kj::UnixEventPort& events, kj::Timer& timer, int listenFd,
                   ServerCertificate& tls, KeOptions options)
    : events(events), timer(timer), listenFd(listenFd), tls(tls), options(kj::mv(options)),
      admission(this->options.maxConnections, kj::mv(this->options.rateLimit)),
      listenObserver(events, [&]() {
        int flags;
        KJ_SYSCALL(flags = fcntl(listenFd, F_GETFL), listenFd);
        KJ_SYSCALL(fcntl(listenFd, F_SETFL, flags | O_NONBLOCK), listenFd);
        return listenFd;
      }(), kj::UnixEventPort::FdObserver::OBSERVE_READ),
      siv(kj::heap<nts::AesSiv>()), tasks(errors) {}

KeServer::~KeServer() noexcept(false) {}

void KeServer::setKeys(nts::KeySet keys) { keySet = kj::mv(keys); }

kj::Promise<void> KeServer::run() { return acceptLoop().exclusiveJoin(watchCertificate()); }

kj::Promise<void> KeServer::watchCertificate() {
  return timer.afterDelay(10 * kj::SECONDS).then([this]() {
    tls.reloadIfChanged();
    return watchCertificate();
  });
}

kj::Promise<void> KeServer::acceptLoop() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof(peer);
    int fd = accept4(listenFd, reinterpret_cast<sockaddr*>(&peer), &peerLength,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) {
        return listenObserver.whenBecomesReadable().then([this]() { return acceptLoop(); });
      }
      if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;
      if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
        // Out of descriptors or memory: let sessions end before accepting again.
        return timer.afterDelay(100 * kj::MILLISECONDS).then([this]() { return acceptLoop(); });
      }
      KJ_FAIL_SYSCALL("accept4", error);
    }
    ++counters.sessions;
    uint32_t random = 1;   // no leak if OpenSSL has no randomness to give
    RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof(random));
    switch (admission.check(reinterpret_cast<sockaddr*>(&peer), counters.open, monotonicNs(),
                            random)) {
      case Admit::SESSION:
        startSession(fd);
        break;
      case Admit::RATE_LIMITED:
        ++counters.refusedRate;
        close(fd);
        break;
      case Admit::BUSY:
        ++counters.refusedBusy;
        close(fd);
        break;
    }
  }
}

void KeServer::startSession(int fd) {
  SSL* ssl = SSL_new(tls.context());
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    close(fd);
    ++counters.failedIo;
    return;
  }
  auto session = kj::heap<Session>(events, fd, ssl, counters.open);
  Session& s = *session;
  tasks.add(handshake(s)
                .exclusiveJoin(timer.afterDelay(options.timeout).then([this, &s]() {
                  finish(s, &KeStats::failedTimeout);
                }))
                .catch_([this, &s](kj::Exception&& e) {
                  finish(s, &KeStats::failedIo);
                })
                .attach(kj::mv(session)));
}

void KeServer::finish(Session& s, uint64_t KeStats::*outcome) {
  if (s.done) return;
  s.done = true;
  ++(counters.*outcome);
}

kj::Promise<void> KeServer::waitFor(Session& s, int sslError,
                                    kj::Promise<void> (KeServer::*next)(Session&)) {
  auto ready = sslError == SSL_ERROR_WANT_WRITE ? s.observer.whenBecomesWritable()
                                                : s.observer.whenBecomesReadable();
  return ready.then([this, &s, next]() { return (this->*next)(s); });
}

kj::Promise<void> KeServer::handshake(Session& s) {
  ERR_clear_error();
  int r = SSL_accept(s.ssl);
  if (r == 1) {
    const unsigned char* alpn = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(s.ssl, &alpn, &len);
    if (len == 0) {   // no ALPN extension at all: not an NTS-KE client
      finish(s, &KeStats::failedAlpn);
      return kj::READY_NOW;
    }
    return readRequest(s);
  }
  int e = SSL_get_error(s.ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    return waitFor(s, e, &KeServer::handshake);
  }
  bool alpn = ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_NO_APPLICATION_PROTOCOL;
  ERR_clear_error();
  finish(s, alpn ? &KeStats::failedAlpn : &KeStats::failedHandshake);
  return kj::READY_NOW;
}

kj::Promise<void> KeServer::readRequest(Session& s) {
  uint8_t buf[1280];
  for (;;) {
    ERR_clear_error();
    int r = SSL_read(s.ssl, buf, sizeof(buf));
    if (r > 0) {
      s.in.addAll(buf, buf + r);
      nts::KeRequest request;
      nts::KeRefusal refusal = nts::parseRequest(s.in.asPtr(), request);
      if (refusal == nts::KeRefusal::INCOMPLETE) {
        if (s.in.size() <= nts::MAX_REQUEST) continue;
        refusal = nts::KeRefusal::OVERSIZED;
      }
      switch (refusal) {
        case nts::KeRefusal::NONE:
          s.out = respond(s, request);
          break;
        case nts::KeRefusal::UNKNOWN_CRITICAL:
          s.out = nts::errorResponse(nts::ERROR_UNRECOGNIZED_CRITICAL);
          s.result = &KeStats::failedUnknownCritical;
          break;
        case nts::KeRefusal::OVERSIZED:
          s.out = nts::errorResponse(nts::ERROR_BAD_REQUEST);
          s.result = &KeStats::failedOversized;
          break;
        default:
          s.out = nts::errorResponse(nts::ERROR_BAD_REQUEST);
          s.result = &KeStats::failedBadRequest;
          break;
      }
      return writeResponse(s);
    }
    int e = SSL_get_error(s.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      return waitFor(s, e, &KeServer::readRequest);
    }
    ERR_clear_error();
    // The client closed (cleanly or not) before End of Message.
    bool eof = e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0) ||
               e == SSL_ERROR_SSL;
    finish(s, eof ? &KeStats::failedTruncated : &KeStats::failedIo);
    return kj::READY_NOW;
  }
}

kj::Array<uint8_t> KeServer::respond(Session& s, const nts::KeRequest& request) {
  KJ_IF_MAYBE(set, keySet) {
    nts::SessionKeys keys;
    uint8_t context[5];
    nts::exporterContext(false, context);
    bool ok = SSL_export_keying_material(s.ssl, keys.c2s, sizeof(keys.c2s), nts::EXPORTER_LABEL,
                                         sizeof(nts::EXPORTER_LABEL) - 1, context, 5, 1) == 1;
    nts::exporterContext(true, context);
    ok = ok && SSL_export_keying_material(s.ssl, keys.s2c, sizeof(keys.s2c), nts::EXPORTER_LABEL,
                                          sizeof(nts::EXPORTER_LABEL) - 1, context, 5, 1) == 1;
    auto cookies = kj::heapArrayBuilder<kj::Array<uint8_t>>(COOKIES_PER_EXCHANGE);
    const nts::ServerKey& key = set->keys[set->current];
    for (unsigned i = 0; ok && i < COOKIES_PER_EXCHANGE; ++i) {
      uint8_t nonce[nts::COOKIE_NONCE_SIZE];
      auto cookie = kj::heapArray<uint8_t>(nts::COOKIE_SIZE);
      ok = RAND_bytes(nonce, sizeof(nonce)) == 1 &&
           nts::sealCookie(*siv, key, keys, nonce, cookie.begin());
      cookies.add(kj::mv(cookie));
    }
    memset(&keys, 0, sizeof(keys));
    if (ok) {
      s.result = &KeStats::completed;
      counters.cookiesIssued += COOKIES_PER_EXCHANGE;
      return nts::successResponse(cookies.finish(), options.server, options.port);
    }
  }
  // No keys from clockd yet, or OpenSSL failed: Internal Server Error (RFC 8915 §4.1.3).
  s.result = &KeStats::failedIo;
  return nts::errorResponse(2);
}

kj::Promise<void> KeServer::writeResponse(Session& s) {
  while (s.written < s.out.size()) {
    ERR_clear_error();
    int r = SSL_write(s.ssl, s.out.begin() + s.written, static_cast<int>(s.out.size() - s.written));
    if (r > 0) {
      s.written += r;
      continue;
    }
    int e = SSL_get_error(s.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      return waitFor(s, e, &KeServer::writeResponse);
    }
    ERR_clear_error();
    finish(s, &KeStats::failedIo);
    return kj::READY_NOW;
  }
  SSL_shutdown(s.ssl);   // close_notify, best effort: the client has what it needs
  finish(s, s.result);
  return kj::READY_NOW;
}

}  // namespace horloge::ntskd
