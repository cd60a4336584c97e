#include "access-list.h"
#include <arpa/inet.h>
#include <cstring>
#include <doctest/doctest.h>
#include <netinet/in.h>

using namespace horloge;
using namespace horloge::netd;

namespace {

sockaddr_storage sa(const char* text, uint16_t port = 123) {
  sockaddr_storage s{};
  auto sin = reinterpret_cast<sockaddr_in*>(&s);
  auto sin6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
  } else {
    REQUIRE(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
  }
  return s;
}

bool allows(const AccessList& list, const char* text) {
  auto s = sa(text);
  return list.allows(reinterpret_cast<const sockaddr*>(&s));
}

AccessList compile(const char* text) {
  Config c = parseConfig(text, "t.conf");
  return AccessList(kj::arrayPtr(c.access.data(), c.access.size()));
}

}  // namespace

TEST_CASE("access list: no rule allows everyone") {
  AccessList list(nullptr);
  CHECK(list.empty());
  CHECK(allows(list, "192.0.2.1"));
  CHECK(allows(list, "2001:db8::1"));
}

TEST_CASE("access list: most specific prefix wins, either order") {
  for (auto text: {"deny 192.0.2.0/24\nallow 192.0.2.128/25\ndeny 192.0.2.200\n",
                   "deny 192.0.2.200\nallow 192.0.2.128/25\ndeny 192.0.2.0/24\n"}) {
    AccessList list = compile(text);
    CHECK(allows(list, "192.0.3.1"));        // no rule: default allow
    CHECK(!allows(list, "192.0.2.1"));       // /24 deny
    CHECK(allows(list, "192.0.2.129"));      // /25 allow
    CHECK(!allows(list, "192.0.2.200"));     // /32 deny
    CHECK(!allows(list, "::ffff:192.0.2.1"));   // IPv4-mapped is IPv4
    CHECK(allows(list, "::ffff:192.0.2.129"));
    CHECK(allows(list, "2001:db8::1"));      // IPv4 rules leave IPv6 alone
  }
}

TEST_CASE("access list: deny all, allow a LAN; IPv6 prefixes") {
  AccessList list = compile(
      "deny all\nallow 10.0.0.0/8\nallow 2001:db8::/32\ndeny 2001:db8:bad::/48\n"
      "allow 2001:db8:bad:0:1234::/80\n");
  CHECK(!allows(list, "192.0.2.1"));
  CHECK(!allows(list, "::1"));
  CHECK(allows(list, "10.200.1.1"));
  CHECK(allows(list, "2001:db8:1::1"));
  CHECK(!allows(list, "2001:db8:bad::1"));
  CHECK(allows(list, "2001:db8:bad:0:1234::99"));
  CHECK(!allows(list, "2001:db8:bad:0:1235::99"));
  CHECK(!allows(list, "2001:db9::1"));
}

TEST_CASE("access list: equal prefixes, the later line wins; /0 and /128") {
  CHECK(!allows(compile("allow 10.0.0.0/8\ndeny 10.1.2.3/8\n"), "10.9.9.9"));
  CHECK(allows(compile("deny 10.0.0.0/8\nallow 10.0.0.0/8\n"), "10.9.9.9"));
  CHECK(!allows(compile("deny 0.0.0.0/0\n"), "203.0.113.9"));
  CHECK(allows(compile("deny 0.0.0.0/0\n"), "2001:db8::9"));
  AccessList host = compile("deny ::/0\nallow 2001:db8::7/128\n");
  CHECK(allows(host, "2001:db8::7"));
  CHECK(!allows(host, "2001:db8::8"));
  CHECK(allows(host, "198.51.100.1"));
}

TEST_CASE("access list: a non-IP source gets the default (packet.h drops it anyway)") {
  sockaddr unix{};
  unix.sa_family = AF_UNIX;
  CHECK(compile("deny all\n").allows(&unix));
  CHECK(!AccessList(nullptr, false).allows(&unix));
}

TEST_CASE("access list: as chrony, an `allow` alone answers only what it covers") {
  auto clients = [](const char* text) {
    Config c = parseConfig(text, "t.conf");
    auto rules = kj::arrayPtr(c.access.data(), c.access.size());
    return kj::heap<AccessList>(rules, AccessList::clientDefault(rules));
  };
  auto lan = clients("allow 192.168.0.0/16\n");
  CHECK(allows(*lan, "192.168.7.1"));
  CHECK(!allows(*lan, "192.0.2.1"));            // chrony answers nobody else; so does netd now
  CHECK(!allows(*lan, "2001:db8::1"));
  auto deny = clients("deny 198.18.0.0/15\n");  // deny alone: a public server minus a prefix
  CHECK(allows(*deny, "192.0.2.1"));
  CHECK(!allows(*deny, "198.18.0.1"));
  auto all = clients("allow\ndeny 192.0.2.0/24\n");
  CHECK(allows(*all, "203.0.113.1"));
  CHECK(!allows(*all, "192.0.2.1"));
  CHECK(allows(*clients(""), "192.0.2.1"));
}
