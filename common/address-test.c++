#include "address.h"
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

using namespace horloge;

TEST_CASE("numericAddress: IPv4, IPv6, anything else empty") {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.1", &v4.sin_addr);
  CHECK(numericAddress(reinterpret_cast<sockaddr*>(&v4)) == "192.0.2.1");
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
  CHECK(numericAddress(reinterpret_cast<sockaddr*>(&v6)) == "2001:db8::1");
  sockaddr other{};
  other.sa_family = AF_UNIX;
  CHECK(numericAddress(&other).empty());
  CHECK(numericAddress(nullptr).empty());
}
