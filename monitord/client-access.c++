#include "client-access.h"
#include <cstring>
#include <netinet/in.h>

namespace horloge::monitord {

namespace {

bool matches(const AccessRule& rule, const uint8_t* address, int family) {
  if (rule.family != 0 && rule.family != family) return false;
  int full = rule.prefixLength / 8, rest = rule.prefixLength % 8;
  if (memcmp(rule.address, address, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - rest));
  return (address[full] & mask) == (rule.address[full] & mask);
}

}  // namespace

ClientAccess::ClientAccess(const std::vector<AccessRule>& rules)
    : rules(kj::heapArray<AccessRule>(rules.data(), rules.size())) {}

bool ClientAccess::address(const sockaddr* peer, uint8_t (&out)[16], int& family) {
  memset(out, 0, sizeof(out));
  if (peer->sa_family == AF_INET) {
    memcpy(out, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
    family = 4;
  } else if (peer->sa_family == AF_INET6) {
    auto& a6 = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      memcpy(out, a6.s6_addr + 12, 4);
      family = 4;
    } else {
      memcpy(out, a6.s6_addr, 16);
      family = 6;
    }
  } else {
    return false;
  }
  return true;
}

bool ClientAccess::allows(const sockaddr* peer) const {
  if (rules.size() == 0) return true;
  uint8_t a[16];
  int family;
  if (!address(peer, a, family)) return false;
  // Only `allow` rules exist for monitord, so any match admits.
  for (auto& rule: rules) if (matches(rule, a, family)) return true;
  return false;
}

bool ClientAccess::insider(const sockaddr* peer) const {
  uint8_t a[16];
  int family;
  if (!address(peer, a, family)) return false;
  for (auto& rule: rules) if (rule.prefixLength > 0 && matches(rule, a, family)) return true;
  return false;
}

bool ClientAccess::keepsReserve() const {
  bool open = false, narrow = false;
  for (auto& rule: rules) (rule.prefixLength == 0 ? open : narrow) = true;
  return open && narrow;
}

}  // namespace horloge::monitord
