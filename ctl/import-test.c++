// `horlogectl import` on the chrony.conf and ntp.conf of the installations (the seeds, in
// ctl/testdata, verbatim) and on the usual Raspberry Pi GPS guide's chrony.conf: the output
// parses as horloge.conf, each line of the input is quoted, and what can be translated is.
#include "import.h"
#include "config.h"
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <string>

namespace horloge::ctl {
namespace {

std::string read(const std::string& name) {
  std::ifstream f(std::string(CTL_TESTDATA) + "/" + name);
  REQUIRE(f);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Imported {
  std::string text;
  Config config;
  bool has(const std::string& line) const {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
  }
};

Imported import(const std::string& name) {
  std::string in = read(name);
  Imported r;
  r.text = importConfig(in, name, guessDialect(in, name));
  MESSAGE(r.text);
  // What it wrote is a horloge.conf every daemon accepts.
  r.config = parseConfig(r.text, name + ".horloge");
  // Every directive of the input is quoted with its line number.
  std::istringstream lines(in);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    auto directive = line.substr(0, line.find('#'));
    if (directive.find_first_not_of(" \t") == std::string::npos) continue;
    INFO(name, ":", n);
    CHECK(r.text.find("# " + name + ":" + std::to_string(n) + ": ") != std::string::npos);
  }
  return r;
}

}  // namespace

TEST_CASE("import: the usual Pi chrony.conf (gpsd SHM, PPS, SOCK)") {
  auto r = import("pi-gpsd-chrony.conf");
  CHECK(r.has("refclock shm 0 offset 0.2"));
  CHECK(r.has("#   not translated: `refid NMEA`: the refid is PPS or NMEA by what the samples are"));
  CHECK(r.has("#   not translated: `noselect`: selection prefers PPS edges, then NMEA time: there "
              "is no per-refclock choice"));
  CHECK(r.has("refclock pps /dev/pps0"));
  CHECK(r.text.find("#   lock NMEA: no `lock` needed") != std::string::npos);
  CHECK(r.has("refclock sock /run/chrony.pps0.sock"));
  CHECK(r.has("#   under systemd: systemctl enable --now horloge-refclock-sock@pps0.socket "
              "(packaging/README.md)"));
  CHECK(r.has("server 192.0.2.10 iburst minpoll 4 maxpoll 6"));
  CHECK(r.text.find("`pool` needs DNS") != std::string::npos);
  CHECK(r.has("makestep 1 3"));
  CHECK(r.has("driftfile /var/lib/horloge/drift"));
  CHECK(r.has("allow 192.168.1.0/24"));
  CHECK(r.has("deny 192.168.1.13"));
  CHECK(r.has("ratelimit interval 1 burst 16"));
  CHECK(r.text.find("horloge never serves its free-running clock") != std::string::npos);
  CHECK(r.text.find("horloge reads leap-seconds.list") != std::string::npos);
  CHECK(r.config.refclocks.size() == 3);
  CHECK(r.config.access.size() == 3);
  CHECK(r.config.makestepLimit == 3);
  CHECK(r.config.ratelimit.burst == 16);
  CHECK(r.text.find("deny all") == std::string::npos);   // it had an `allow`
}

TEST_CASE("import: seed 001, the Stratum-1's ntp.conf (gpsd SHM 0 and 1, fudge)") {
  auto r = import("seed-001-stratum1-ntp.conf");
  CHECK(r.has("refclock shm 0 offset 0.304"));
  CHECK(r.has("refclock shm 1"));
  CHECK(r.has("#   not translated: fudge refid NMEA: the refid is PPS or NMEA by what the samples are"));
  CHECK(r.text.find("fudge time2 0.280: ntpd's SHM driver does not use it") != std::string::npos);
  CHECK(r.has("#   not translated: '[serveur-stratum-1-A]' is not an address or a host name"));
  CHECK(r.has("server ntp1.rdem-systems.com iburst"));
  CHECK(r.has("driftfile /var/lib/horloge/drift"));
  CHECK(r.text.find("# seed-001-stratum1-ntp.conf:5: statistics loopstats peerstats clockstats\n"
                    "#   not translated: horloge logs to the journal") != std::string::npos);
  CHECK(r.config.refclocks.size() == 2);
  CHECK(r.config.refclocks[0].offset == doctest::Approx(0.304));
  CHECK(r.config.servers.size() == 2);
}

TEST_CASE("import: seed 002, the LAN server's ntp.conf and chrony.conf, and a client's") {
  auto ntp = import("seed-002-ntp.conf");
  // ntpd served everyone: the `restrict` line's prefix only becomes a commented `allow`.
  CHECK(ntp.has("#allow 192.168.0.0/16"));
  CHECK(ntp.config.access.empty());
  CHECK(ntp.config.servers.size() == 4);
  auto chrony = import("seed-002-chrony.conf");
  CHECK(chrony.has("allow 192.168.0.0/16"));
  CHECK(chrony.config.access.size() == 1);
  auto client = import("seed-002-client-chrony.conf");
  CHECK(client.has("server 192.168.1.100"));
  // chrony answered nobody without `allow`: so does the translation.
  CHECK(client.has("deny all"));
}

TEST_CASE("import: seed 003, a pool server's ntp.conf (restrict default limited kod)") {
  auto r = import("seed-003-pool-ntp.conf");
  CHECK(r.has("ratelimit kod"));
  CHECK(r.config.ratelimit.enabled);
  CHECK(r.config.ratelimit.kod);
  CHECK(r.config.access.empty());
  CHECK(r.config.servers.size() == 4);
}

TEST_CASE("import: seed 004, a workstation's ntp.conf (local clock, broadcast)") {
  auto r = import("seed-004-ntp.conf");
  CHECK(r.text.find("ntpd's local clock: horloge never serves its free-running clock") != std::string::npos);
  CHECK(r.text.find("broadcast and multicast modes are not supported") != std::string::npos);
  CHECK(r.has("#   loopback is always answered (horloge answers only time requests)"));
  CHECK(r.config.servers.size() == 1);
}

TEST_CASE("import: which dialect, and ntpd's NMEA and PPS drivers") {
  CHECK(guessDialect("", "/etc/chrony/chrony.conf") == Dialect::CHRONY);
  CHECK(guessDialect("", "/etc/ntpsec/ntp.conf") == Dialect::NTPD);
  CHECK(guessDialect("restrict default ignore\n", "conf") == Dialect::NTPD);
  CHECK(guessDialect("refclock SHM 0\n", "conf") == Dialect::CHRONY);
  auto out = importConfig("server 127.127.20.0 mode 17 minpoll 4\nfudge 127.127.20.0 time2 0.350 flag1 1\n"
                          "server 127.127.22.0\nrestrict default ignore\nrestrict 192.0.2.0 mask "
                          "255.255.255.0 nomodify\nrestrict 198.51.100.7 ignore\ndiscard average 4\n",
                          "ntp.conf", Dialect::NTPD);
  MESSAGE(out);
  auto c = parseConfig(out, "t");
  CHECK(out.find("\nrefclock nmea /dev/gps0 baud 9600 offset 0.35\n") != std::string::npos);
  CHECK(out.find("\nrefclock pps /dev/pps0\n") != std::string::npos);
  CHECK(out.find("\nallow 192.0.2.0/24\n") != std::string::npos);
  CHECK(out.find("\ndeny 198.51.100.7\n") != std::string::npos);
  CHECK(out.find("\ndeny all\n") != std::string::npos);
  CHECK(c.ratelimit.interval == 4);
}

}  // namespace horloge::ctl
