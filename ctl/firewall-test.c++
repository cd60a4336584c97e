#include "firewall.h"
#include <doctest/doctest.h>

using namespace horloge;

TEST_CASE("firewall: one set per family, address . port, none when empty") {
  Config c = parseConfig("server 192.0.2.10 iburst\nserver 2001:db8::1 port 1123 noselect\n"
                         "server 192.0.2.11\n", "t.conf");
  CHECK(ctl::firewallElements(c) ==
        "add element inet horloge upstream_v4 { 192.0.2.10 . 123, 192.0.2.11 . 123 }\n"
        "add element inet horloge upstream_v6 { 2001:db8::1 . 1123 }\n");
  CHECK(ctl::firewallElements(parseConfig("", "t.conf")).empty());
}
