// Which accepted NTS-KE connections get a session. First `nts ratelimit`, per client address
// with netd's token bucket (netd/rate-limiter.h: IPv4 by address, IPv6 by /64, a limited
// connection let through one time in 2^leak so that nobody can lock a neighbour out), then
// `nts maxconnections`. Refused connections are closed before any TLS, so a flood from one
// address costs an accept() and a close() each, and leaves the other clients' slots free.
#pragma once
#include "rate-limiter.h"
#include <kj/memory.h>
#include <sys/socket.h>

namespace horloge::ntskd {

enum class Admit : uint8_t {
  SESSION,        // start the TLS handshake
  RATE_LIMITED,   // over `nts ratelimit` for its address
  BUSY,           // `nts maxconnections` sessions already open
};

class Admission {
public:
  // `limiter` null: no `nts ratelimit`.
  Admission(unsigned maxConnections, kj::Own<netd::RateLimiter> limiter);

  // A connection from `peer` (an address from accept(); IPv4-mapped IPv6 counts as IPv4) at
  // CLOCK_MONOTONIC `nowNs`, with `open` sessions under way; `random` decides the leak.
  Admit check(const sockaddr* peer, uint32_t open, int64_t nowNs, uint32_t random);

private:
  unsigned maxConnections;
  kj::Own<netd::RateLimiter> limiter;
};

// The rate limiter `nts ratelimit` asks for, with a key from getrandom() (before lockdown);
// null when it is off. A table of 4096 addresses (64 KiB): a key exchange is rare per client.
kj::Own<netd::RateLimiter> keRateLimiter(const RateLimitConf& conf);

}  // namespace horloge::ntskd
