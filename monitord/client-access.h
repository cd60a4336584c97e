// `monitor allow`: which peers may open a connection to monitord at all. Checked on the TCP
// peer address right after accept, before any TLS byte is read, so that a host outside the
// management network cannot even reach the handshake code. No rule: everyone may connect.
#pragma once
#include "config.h"
#include <kj/array.h>
#include <sys/socket.h>
#include <vector>

namespace horloge::monitord {

class ClientAccess {
public:
  explicit ClientAccess(const std::vector<AccessRule>& rules);

  // IPv4-mapped IPv6 peers (::ffff:a.b.c.d) are matched against IPv4 prefixes; anything that
  // is not IPv4 or IPv6 is refused once a rule exists.
  bool allows(const sockaddr* peer) const;
  bool restricted() const { return rules.size() > 0; }

private:
  kj::Array<AccessRule> rules;
};

}  // namespace horloge::monitord
