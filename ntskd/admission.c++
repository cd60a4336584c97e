#include "admission.h"

namespace horloge::ntskd {

Admission::Admission(unsigned maxConnections, kj::Own<netd::RateLimiter> limiter)
    : maxConnections(maxConnections), limiter(kj::mv(limiter)) {}

Admit Admission::check(const sockaddr* peer, uint32_t open, int64_t nowNs, uint32_t random) {
  // The address first, as chrony: a client over its rate is refused as such even when all
  // slots are busy (a connection refused as busy has spent its token: it did connect).
  if (limiter.get() != nullptr) {
    netd::Address address = netd::addressOf(peer);
    if (address.family != 0 && limiter->check(address, nowNs, random) != netd::Limit::ANSWER) {
      return Admit::RATE_LIMITED;
    }
  }
  return open >= maxConnections ? Admit::BUSY : Admit::SESSION;
}

kj::Own<netd::RateLimiter> keRateLimiter(const RateLimitConf& conf) {
  if (!conf.enabled) return kj::Own<netd::RateLimiter>();
  netd::RateLimitOptions options;
  options.interval = conf.interval;
  options.burst = conf.burst;
  options.leak = conf.leak;
  options.kod = false;
  options.entries = 4096;
  return netd::RateLimiter::withRandomKey(options);
}

}  // namespace horloge::ntskd
