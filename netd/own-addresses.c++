#include "own-addresses.h"
#include <cstring>
#include <ifaddrs.h>
#include <kj/debug.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace horloge::netd {

namespace {

void add(std::vector<AccessRule>& rules, const sockaddr* a) {
  if (a == nullptr) return;
  AccessRule r;
  r.allow = false;
  if (a->sa_family == AF_INET) {
    auto& in = reinterpret_cast<const sockaddr_in*>(a)->sin_addr;
    uint32_t host = ntohl(in.s_addr);
    if ((host >> 24) == 127 || host == 0) return;
    r.family = 4;
    r.prefixLength = 32;
    memcpy(r.address, &in, 4);
  } else if (a->sa_family == AF_INET6) {
    auto& in6 = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&in6) || IN6_IS_ADDR_UNSPECIFIED(&in6)) return;
    if (IN6_IS_ADDR_V4MAPPED(&in6)) {   // a socket bound to ::ffff:a.b.c.d
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      memcpy(&v4.sin_addr, in6.s6_addr + 12, 4);
      add(rules, reinterpret_cast<const sockaddr*>(&v4));
      return;
    }
    r.family = 6;
    r.prefixLength = 128;
    memcpy(r.address, &in6, 16);
  } else {
    return;
  }
  rules.push_back(r);
}

}  // namespace

std::vector<AccessRule> ownAddressRules(kj::ArrayPtr<const int> fds) {
  std::vector<AccessRule> rules;
  ifaddrs* list = nullptr;
  KJ_SYSCALL(getifaddrs(&list));
  KJ_DEFER(freeifaddrs(list));
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) add(rules, i->ifa_addr);
  for (int fd: fds) {
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
      add(rules, reinterpret_cast<const sockaddr*>(&bound));
    }
  }
  return rules;
}

}  // namespace horloge::netd
