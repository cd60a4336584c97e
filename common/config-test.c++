#include "config.h"
#include <doctest/doctest.h>

using namespace horloge;

static std::string errorOf(const std::string& text) {
  try {
    parseConfig(text, "t.conf");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("config: every directive") {
  Config c = parseConfig(
      "# demo\n"
      "listen 127.0.0.1 port 11123\n"
      "listen ::1\n"
      "refclock sim jitter 1e-6 offset 0.001 nmea-delay 0.3\n"
      "clock observe   ! trailing comment\n"
      "rundir /tmp/r\n"
      "statedir /tmp/s\n"
      "monitor listen 0.0.0.0 port 8443\n"
      "monitor cert /etc/c.pem key /etc/k.pem\n"
      "user nobody\n"
      "user clockd root\n"
      "maxholdover 600\n"
      "seccomp errno\n"
      "workers 2\n",
      "t.conf");
  REQUIRE(c.listen.size() == 2);
  CHECK(c.listen[0].address == "127.0.0.1");
  CHECK(c.listen[0].port == 11123);
  CHECK(c.listen[1].port == 123);
  REQUIRE(c.refclocks.size() == 1);
  CHECK(c.refclocks[0].jitter == doctest::Approx(1e-6));
  CHECK(c.refclocks[0].nmeaDelay == doctest::Approx(0.3));
  CHECK(c.clock == ClockBackend::OBSERVE);
  CHECK(c.rundir == "/tmp/r");
  CHECK(c.statedir == "/tmp/s");
  CHECK(c.monitorEnabled);
  CHECK(c.monitorPort == 8443);
  CHECK(c.monitorCert == "/etc/c.pem");
  CHECK(c.user(Role::CLOCKD) == "root");
  CHECK(c.user(Role::NETD) == "nobody");
  CHECK(c.maxHoldover == 600);
  CHECK(c.seccomp == SeccompAction::ERRNO);
  CHECK(c.workers == 2);
}

TEST_CASE("config: errors name file and line") {
  CHECK(errorOf("\n\nbogus 1\n") == "t.conf:3: unknown directive 'bogus'");
  CHECK(errorOf("listen localhost\n") ==
        "t.conf:1: 'localhost' is not a numeric IPv4 or IPv6 address");
  CHECK(errorOf("listen 1.2.3.4 port 0\n") == "t.conf:1: port 0 out of range [1, 65535]");
  CHECK(errorOf("listen 1.2.3.4 port 12x\n") == "t.conf:1: bad port '12x'");
  CHECK(errorOf("listen 1.2.3.4 port\n") == "t.conf:1: missing port after 'port'");
  CHECK(errorOf("clock fast\n") ==
        "t.conf:1: unknown clock backend 'fast' (known: system, observe, sim)");
  CHECK(errorOf("refclock sim jitter 5\n") == "t.conf:1: jitter 5 out of range [0, 0.1]");
  CHECK(errorOf("refclock gps\n") == "t.conf:1: unknown refclock driver 'gps' (known: sim)");
  CHECK(errorOf("rundir relative\n") == "t.conf:1: rundir must be an absolute path");
  CHECK(errorOf("user a b c\n") == "t.conf:1: unexpected 'b'");
  CHECK(errorOf("user badrole x\n") ==
        "t.conf:1: unknown role 'badrole' (known: clockd, netd, refclockd, monitord)");
  CHECK(errorOf("user ../x\n") == "t.conf:1: bad user name '../x'");
  CHECK(errorOf("clock observe extra\n") == "t.conf:1: unexpected 'extra'");
  CHECK(errorOf(std::string("clock obs\0erve\n", 15)) == "t.conf:1: NUL byte in line");
  CHECK(errorOf("maxholdover nan\n") == "t.conf:1: bad maxholdover 'nan'");
  CHECK(errorOf("workers 1.5\n") == "t.conf:1: workers must be a whole number");
}

TEST_CASE("config: missing file") {
  CHECK_THROWS_WITH_AS(loadConfig("/nonexistent/h.conf"), "/nonexistent/h.conf: cannot open",
                       ConfigError);
}
