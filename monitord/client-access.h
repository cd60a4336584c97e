// `monitor allow`: which peers may open a connection to monitord at all. Checked on the TCP
// peer address right after accept, before any TLS byte is read, so that a host outside the
// management network cannot even reach the handshake code. No rule: everyone may connect.
// `monitor allow all` next to narrower prefixes lets everyone in while the narrower ones
// (the insiders) keep slots of their own (connection-slots.h).
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
  // Matched by a prefix narrower than `all` (/0).
  bool insider(const sockaddr* peer) const;
  // Both kinds of rule given: outsiders may connect, insiders keep a reserve.
  bool keepsReserve() const;

  // The peer's address as the rules see it: IPv4 (also from ::ffff:a.b.c.d) in the first 4
  // bytes with family 4, else IPv6 with family 6; false for any other kind of peer.
  static bool address(const sockaddr* peer, uint8_t (&out)[16], int& family);

private:
  kj::Array<AccessRule> rules;
};

}  // namespace horloge::monitord
