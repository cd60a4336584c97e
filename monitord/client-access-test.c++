#include "client-access.h"
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

namespace horloge::monitord {
namespace {

sockaddr_storage v4(const char* text) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, text, &sin->sin_addr);
  return ss;
}

sockaddr_storage v6(const char* text) {
  sockaddr_storage ss{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, text, &sin6->sin6_addr);
  return ss;
}

bool allows(const ClientAccess& a, sockaddr_storage ss) {
  return a.allows(reinterpret_cast<const sockaddr*>(&ss));
}

TEST_CASE("monitor allow: prefixes of both families, mapped IPv4, default open") {
  auto config = parseConfig("monitor allow 10.1.0.0/16\nmonitor allow 2001:db8:5::/48\n"
                            "monitor allow 192.0.2.129/25\n", "t.conf");
  ClientAccess access(config.monitorAllow);
  CHECK(access.restricted());
  CHECK(allows(access, v4("10.1.200.3")));
  CHECK_FALSE(allows(access, v4("10.2.0.1")));
  CHECK(allows(access, v4("192.0.2.200")));
  CHECK_FALSE(allows(access, v4("192.0.2.100")));
  CHECK(allows(access, v6("::ffff:10.1.0.1")));
  CHECK_FALSE(allows(access, v6("::ffff:10.9.0.1")));
  CHECK(allows(access, v6("2001:db8:5:ffff::1")));
  CHECK_FALSE(allows(access, v6("2001:db8:6::1")));

  ClientAccess open({});
  CHECK_FALSE(open.restricted());
  CHECK(allows(open, v4("203.0.113.1")));
}

}  // namespace
}  // namespace horloge::monitord
