#include "config.h"
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

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
  CHECK(c.refclocks[0].jitter == doctest::Approx(1e-6).scale(0));
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
  CHECK(errorOf("refclock gps\n") ==
        "t.conf:1: unknown refclock driver 'gps' (known: sim, nmea, pps, shm, sock)");
  CHECK(errorOf("refclock nmea /dev/ttyAMA0 baud 1200\n") ==
        "t.conf:1: baud 1200 out of range [4800, 115200]");
  CHECK(errorOf("refclock nmea /dev/ttyAMA0 baud 14400\n") ==
        "t.conf:1: baud 14400 not one of 4800 9600 19200 38400 57600 115200");
  CHECK(errorOf("refclock pps /dev/pps0 edge both\n") ==
        "t.conf:1: edge 'both' is not 'assert' or 'clear'");
  CHECK(errorOf("refclock pps dev/pps0\n") == "t.conf:1: device must be an absolute path");
  CHECK(errorOf("refclock shm 8\n") == "t.conf:1: unit 8 out of range [0, 7]");
  CHECK(errorOf("refclock nmea /dev/ttyS0 jitter 1e-6\n") ==
        "t.conf:1: unknown refclock nmea option 'jitter'");
  CHECK(errorOf("refclock sim dropout gps 1 2\n") ==
        "t.conf:1: unknown dropout 'gps' (known: pps, nmea)");
  CHECK(errorOf("refclock sim fault garbage 1\n") ==
        "t.conf:1: missing fault duration after '1'");
  CHECK(errorOf("rundir relative\n") == "t.conf:1: rundir must be an absolute path");
  CHECK(errorOf("user a b c\n") == "t.conf:1: unexpected 'b'");
  CHECK(errorOf("user badrole x\n") ==
        "t.conf:1: unknown role 'badrole' (known: clockd, netd, refclockd, monitord, ntskd)");
  CHECK(errorOf("user ../x\n") == "t.conf:1: bad user name '../x'");
  CHECK(errorOf("clock observe extra\n") == "t.conf:1: unexpected 'extra'");
  CHECK(errorOf(std::string("clock obs\0erve\n", 15)) == "t.conf:1: NUL byte in line");
  CHECK(errorOf("maxholdover nan\n") == "t.conf:1: bad maxholdover 'nan'");
  CHECK(errorOf("workers 1.5\n") == "t.conf:1: workers must be a whole number");
}

TEST_CASE("config: a directive that may be given once, given twice") {
  CHECK(errorOf("clock observe\n# later\nclock system\n") ==
        "t.conf:3: 'clock' already given at line 1");
  CHECK(errorOf("monitor listen 127.0.0.1 port 1\nmonitor listen ::1 port 2\n") ==
        "t.conf:2: 'monitor listen' already given at line 1");
  CHECK(errorOf("makestep 1 3\nmakestep 0.1 -1\n") == "t.conf:2: 'makestep' already given at line 1");
  CHECK(errorOf("user netd a\nuser netd b\n") == "t.conf:2: 'user netd' already given at line 1");
  CHECK(errorOf("maxclockerror 1\nmaxclockerror 2\n") ==
        "t.conf:2: 'maxclockerror' already given at line 1");
  // Repeatable: lists.
  Config c = parseConfig("listen ::1\nlisten 127.0.0.1\nrefclock sim\nrefclock sim\nallow all\n"
                         "deny 192.0.2.1\ndeny 192.0.2.2\nmonitor listen ::1 port 1\n"
                         "monitor allow ::1\nmonitor allow 127.0.0.1\nserver 192.0.2.9\n"
                         "server 192.0.2.8\n", "t.conf");
  CHECK(c.listen.size() == 2);
  CHECK(c.refclocks.size() == 2);
  CHECK(c.servers.size() == 2);
  CHECK(c.monitorAllow.size() == 2);
  // A role's own user wins over `user NAME`, in either order.
  Config u = parseConfig("user clockd root\nuser nobody\n", "t.conf");
  CHECK(u.user(Role::CLOCKD) == "root");
  CHECK(u.user(Role::NETD) == "nobody");
}

TEST_CASE("config: maxclockerror, maxslewrate, clock sim frequency-step") {
  Config d = parseConfig("", "t.conf");
  CHECK(d.maxClockError * 1e6 == doctest::Approx(1));
  CHECK(d.maxSlewRate * 1e6 == doctest::Approx(83333.333));
  Config c = parseConfig("maxclockerror 2.5\nmaxslewrate 500\n"
                         "clock sim offset 3600 frequency-step 1 300 seed 4\n", "t.conf");
  CHECK(c.maxClockError * 1e6 == doctest::Approx(2.5));
  CHECK(c.maxSlewRate * 1e6 == doctest::Approx(500));
  CHECK(c.simOffset == 3600);
  CHECK(c.simFrequencyStep * 1e6 == doctest::Approx(1));
  CHECK(c.simFrequencyStepAt == 300);
  CHECK(c.simSeed == 4);
  CHECK(errorOf("maxslewrate 90000\n") == "t.conf:1: maxslewrate 90000 out of range [1, 83333.3]");
  CHECK(errorOf("clock sim frequency-step 1\n") ==
        "t.conf:1: missing frequency step time after '1'");
}

TEST_CASE("config: tempsensor and the sim clock's temperature") {
  Config d = parseConfig("", "t.conf");
  CHECK(d.tempSensor.empty());
  CHECK(d.tempInterval == 10);
  CHECK_FALSE(d.simThermal);
  Config c = parseConfig("tempsensor /sys/class/thermal/thermal_zone1/temp interval 30\n"
                         "clock sim temperature-diurnal 5 temperature-load 5 3600 "
                         "temperature-lag 600 temperature-coefficients 0.3 -0.01\n", "t.conf");
  CHECK(c.tempSensor == "/sys/class/thermal/thermal_zone1/temp");
  CHECK(c.tempInterval == 30);
  CHECK(c.simThermal);
  CHECK(c.simDiurnal == 5);
  CHECK(c.simLoad == 5);
  CHECK(c.simLoadPeriod == 3600);
  CHECK(c.simLag == 600);
  CHECK(c.simLinear * 1e6 == doctest::Approx(0.3));
  CHECK(c.simQuadratic * 1e6 == doctest::Approx(-0.01));
  CHECK(parseConfig("tempsensor none\n", "t.conf").tempSensor == "none");
  CHECK(errorOf("tempsensor thermal\n") == "t.conf:1: tempsensor must be an absolute path");
  CHECK(errorOf("tempsensor none every 3\n") == "t.conf:1: expected 'interval', got 'every'");
}

TEST_CASE("config: missing file") {
  CHECK_THROWS_WITH_AS(loadConfig("/nonexistent/h.conf"), "/nonexistent/h.conf: cannot open",
                       ConfigError);
}

TEST_CASE("config: a file that is not a small regular file is refused by name, unread") {
  CHECK_THROWS_WITH_AS(loadConfig("/dev/zero"), "/dev/zero: not a regular file", ConfigError);
  CHECK_THROWS_WITH_AS(loadConfig("/tmp"), "/tmp: not a regular file", ConfigError);
}

TEST_CASE("config: socket paths that a Unix socket cannot have are file:line errors") {
  std::string fits(MAX_UNIX_SOCKET_PATH - 1 - LONGEST_IPC_SOCKET_NAME, 'r');
  fits[0] = '/';
  CHECK(errorOf("rundir " + fits + "\n") == "");
  CHECK(errorOf("\nrundir " + fits + "x\n") ==
        "t.conf:2: rundir is 94 characters long; its sockets' paths (up to " + fits +
        "x/refclock.sock) would pass the 107 characters a Unix socket path may have (at most 93 "
        "for rundir)");
  std::string sock(MAX_UNIX_SOCKET_PATH, 's');
  sock[0] = '/';
  CHECK(errorOf("refclock sock " + sock + "\n") == "");
  CHECK(errorOf("refclock sock " + sock + "s\n") ==
        "t.conf:1: socket path is 108 characters long; a Unix socket path may have at most 107");
}

TEST_CASE("config: allow and deny") {
  Config c = parseConfig(
      "deny all\n"
      "allow 192.0.2.0/24\n"
      "deny 192.0.2.77\n"
      "deny 2001:db8::/32\n"
      "allow 2001:db8:1:2::1/64\n"
      "allow\n",
      "t.conf");
  REQUIRE(c.access.size() == 6);
  CHECK(c.access[0].family == 0);
  CHECK(!c.access[0].allow);
  CHECK(c.access[1].family == 4);
  CHECK(c.access[1].prefixLength == 24);
  CHECK(c.access[1].address[0] == 192);
  CHECK(c.access[1].address[2] == 2);
  CHECK(c.access[1].allow);
  CHECK(c.access[2].prefixLength == 32);
  CHECK(c.access[2].address[3] == 77);
  CHECK(c.access[3].family == 6);
  CHECK(c.access[3].prefixLength == 32);
  CHECK(c.access[3].address[0] == 0x20);
  CHECK(c.access[3].line == 4);
  // Host bits past the prefix are cleared.
  CHECK(c.access[4].prefixLength == 64);
  CHECK(c.access[4].address[7] == 2);
  CHECK(c.access[4].address[15] == 0);
  CHECK(c.access[5].family == 0);
  CHECK(c.access[5].allow);
  CHECK(parseConfig("", "t.conf").access.empty());
}

TEST_CASE("config: allow and deny errors") {
  CHECK(errorOf("allow example.com\n") ==
        "t.conf:1: 'example.com' is not a numeric IPv4 or IPv6 address");
  CHECK(errorOf("deny 10.0.0.0/33\n") == "t.conf:1: bad prefix length '33' (0..32)");
  CHECK(errorOf("deny ::/129\n") == "t.conf:1: bad prefix length '129' (0..128)");
  CHECK(errorOf("deny 10.0.0.0/\n") == "t.conf:1: bad prefix length '' (0..32)");
  CHECK(errorOf("deny 10.0.0.0/8x\n") == "t.conf:1: bad prefix length '8x' (0..32)");
  CHECK(errorOf("\nallow 10.0.0.0/8 10.1.0.0/16\n") == "t.conf:2: unexpected '10.1.0.0/16'");
}

TEST_CASE("config: nts ratelimit") {
  CHECK(!parseConfig("", "t.conf").nts.ratelimit.enabled);
  // Not the NTP one: each has its own line, and NTS-KE defaults to one per 64 s as chrony's.
  Config d = parseConfig("nts ratelimit\nratelimit interval 1\n", "t.conf");
  CHECK(d.nts.ratelimit.enabled);
  CHECK(d.nts.ratelimit.interval == 6);
  CHECK(d.nts.ratelimit.burst == 8);
  CHECK(d.nts.ratelimit.leak == 2);
  CHECK(d.ratelimit.interval == 1);
  CHECK(!parseConfig("nts ratelimit\n", "t.conf").ratelimit.enabled);
  Config c = parseConfig("nts ratelimit interval 3 burst 1 leak 4\n", "t.conf");
  CHECK(c.nts.ratelimit.interval == 3);
  CHECK(c.nts.ratelimit.burst == 1);
  CHECK(c.nts.ratelimit.leak == 4);
  CHECK(errorOf("nts ratelimit interval 13\n") == "t.conf:1: interval 13 out of range [-19, 12]");
  CHECK(errorOf("nts ratelimit burst 0\n") == "t.conf:1: burst 0 out of range [1, 255]");
  CHECK(errorOf("nts ratelimit leak 0\n") == "t.conf:1: leak 0 out of range [1, 4]");
  CHECK(errorOf("nts ratelimit burst\n") == "t.conf:1: missing burst after 'burst'");
  CHECK(errorOf("nts ratelimit kod\n") ==
        "t.conf:1: nts ratelimit has no 'kod': a refused key exchange is a closed TCP "
        "connection, there is no kiss-o'-death to send");
  CHECK(errorOf("nts ratelimit fast 1\n") ==
        "t.conf:1: unknown nts ratelimit option 'fast' (known: interval, burst, leak)");
  CHECK(errorOf("nts ratelimit\nnts ratelimit burst 2\n") ==
        "t.conf:2: 'nts ratelimit' already given at line 1");
  // chrony's spelling points to horloge's.
  CHECK(errorOf("ntsratelimit interval 3 burst 1\n") ==
        "t.conf:1: unknown directive 'ntsratelimit': write `nts ratelimit` with the same options "
        "(interval, burst, leak)");
}

TEST_CASE("config: ratelimit") {
  CHECK(!parseConfig("", "t.conf").ratelimit.enabled);
  Config d = parseConfig("ratelimit\n", "t.conf");
  CHECK(d.ratelimit.enabled);
  CHECK(d.ratelimit.interval == 3);
  CHECK(d.ratelimit.burst == 8);
  CHECK(d.ratelimit.leak == 2);
  CHECK(!d.ratelimit.kod);
  Config c = parseConfig("ratelimit interval -2 burst 16 leak 4 kod\n", "t.conf");
  CHECK(c.ratelimit.interval == -2);
  CHECK(c.ratelimit.burst == 16);
  CHECK(c.ratelimit.leak == 4);
  CHECK(c.ratelimit.kod);
  CHECK(errorOf("ratelimit interval 13\n") == "t.conf:1: interval 13 out of range [-19, 12]");
  CHECK(errorOf("ratelimit burst 0\n") == "t.conf:1: burst 0 out of range [1, 255]");
  CHECK(errorOf("ratelimit leak 5\n") == "t.conf:1: leak 5 out of range [1, 4]");
  CHECK(errorOf("ratelimit burst 2.5\n") == "t.conf:1: burst must be a whole number");
  CHECK(errorOf("ratelimit interval\n") == "t.conf:1: missing interval after 'interval'");
  CHECK(errorOf("ratelimit fast 1\n") ==
        "t.conf:1: unknown ratelimit option 'fast' (known: interval, burst, leak, kod)");
}

TEST_CASE("config: refclock drivers (issue 4)") {
  auto c = horloge::parseConfig(
      "refclock nmea /dev/ttyAMA0 baud 115200 offset 0.28\n"
      "refclock pps /dev/pps0 edge clear\n"
      "refclock shm 1 offset -0.001\n"
      "refclock sock /run/chrony.ttyAMA0.sock\n"
      "refclock sim dropout pps 10 5 fault week-rollover 20 0 fault late-nmea 3 1\n",
      "t.conf");
  REQUIRE(c.refclocks.size() == 5);
  CHECK(c.refclocks[0].device == "/dev/ttyAMA0");
  CHECK(c.refclocks[0].baud == 115200);
  CHECK(c.refclocks[0].offset == doctest::Approx(0.28));
  CHECK(c.refclocks[1].clearEdge);
  CHECK(c.refclocks[2].unit == 1);
  CHECK(c.refclocks[3].device == "/run/chrony.ttyAMA0.sock");
  auto& f = c.refclocks[4].faults;
  REQUIRE(f.size() == 3);
  CHECK(f[0].kind == horloge::SimFault::MISSING_PPS);
  CHECK(f[0].start == 10);
  CHECK(f[0].duration == 5);
  CHECK(f[1].kind == horloge::SimFault::WEEK_ROLLOVER);
  CHECK(f[2].kind == horloge::SimFault::LATE_NMEA);
}

TEST_CASE("config: discipline directives (issue 5)") {
  Config c = parseConfig(
      "makestep 0.1 3\ndriftfile /var/lib/horloge/drift\nleapfile /etc/leap.list\n"
      "clock sim frequency -12 wander 1e-10 offset 0.002 seed 9\n", "t.conf");
  CHECK(c.makestepThreshold == 0.1);
  CHECK(c.makestepLimit == 3);
  CHECK(c.driftfile == "/var/lib/horloge/drift");
  CHECK(c.leapfile == "/etc/leap.list");
  CHECK(c.clock == horloge::ClockBackend::SIM);
  CHECK(c.simFrequency == doctest::Approx(-12e-6).scale(0));
  CHECK(c.simWander == 1e-10);
  CHECK(c.simOffset == 0.002);
  CHECK(c.simSeed == 9);
  CHECK(parseConfig("", "t.conf").leapfile.empty());   // automatic: clockd/leap-file.h
  CHECK_THROWS_WITH_AS(parseConfig("makestep 0.1\n", "t.conf"), "t.conf:1: missing makestep limit after '0.1'",
                       horloge::ConfigError);
  CHECK_THROWS_WITH_AS(parseConfig("clock sim drift 3\n", "t.conf"),
                       doctest::Contains("unknown clock sim option 'drift'"), horloge::ConfigError);
  CHECK_THROWS_WITH_AS(parseConfig("driftfile drift\n", "t.conf"),
                       doctest::Contains("driftfile must be an absolute path"), horloge::ConfigError);
}

TEST_CASE("config: monitor access control (issue 6)") {
  Config c = parseConfig(
      "monitor listen 192.0.2.1 port 443\nmonitor allow 10.1.0.0/16\nmonitor allow 2001:db8::1\n"
      "monitor token /etc/horloge/token\nmonitor client-ca /etc/horloge/ca.pem\n"
      "monitor history 10\n", "t.conf");
  REQUIRE(c.monitorAllow.size() == 2);
  CHECK(c.monitorAllow[0].family == 4);
  CHECK(c.monitorAllow[0].prefixLength == 16);
  CHECK(c.monitorAllow[1].family == 6);
  CHECK(c.monitorAllow[1].prefixLength == 128);
  CHECK(c.access.empty());   // netd's table is untouched
  CHECK(c.monitorTokenFile == "/etc/horloge/token");
  CHECK(c.monitorClientCa == "/etc/horloge/ca.pem");
  CHECK(c.monitorHistory == 10);
  CHECK(parseConfig("", "t.conf").monitorHistory == 30);
  CHECK_THROWS_WITH_AS(parseConfig("monitor allow 10.0.0.0/33\n", "t.conf"),
                       "t.conf:1: bad prefix length '33' (0..32)", horloge::ConfigError);
  CHECK_THROWS_WITH_AS(parseConfig("monitor allow\n", "t.conf"),
                       "t.conf:1: missing prefix after 'allow'", horloge::ConfigError);
  CHECK_THROWS_WITH_AS(parseConfig("monitor token token.txt\n", "t.conf"),
                       doctest::Contains("token file must be an absolute path"),
                       horloge::ConfigError);
  CHECK_THROWS_WITH_AS(parseConfig("monitor history 0\n", "t.conf"),
                       doctest::Contains("history interval 0 out of range"), horloge::ConfigError);
}

TEST_CASE("config: server (issue 8)") {
  Config c = parseConfig("server 192.0.2.1 iburst\n"
                         "server 2001:db8::1 port 1123 minpoll 4 maxpoll 6 prefer noselect\n",
                         "t.conf");
  REQUIRE(c.servers.size() == 2);
  CHECK(c.servers[0].address == "192.0.2.1");
  CHECK(c.servers[0].iburst);
  CHECK(c.servers[0].port == 123);
  CHECK(c.servers[0].minpoll == 6);
  CHECK(c.servers[0].maxpoll == 10);
  CHECK(c.servers[1].port == 1123);
  CHECK(c.servers[1].minpoll == 4);
  CHECK(c.servers[1].maxpoll == 6);
  CHECK((c.servers[1].prefer && c.servers[1].noselect && !c.servers[1].iburst));
  CHECK(c.servers[1].line == 2);

  CHECK(errorOf("server 192.0.2.1 burst\n") ==
        "t.conf:1: unknown server option 'burst' (known: port, minpoll, maxpoll, iburst, prefer, "
        "noselect): `burst` is abuse for a public server: `iburst` only");
  CHECK(errorOf("server 192.0.2.1 minpoll 8 maxpoll 6\n") == "t.conf:1: maxpoll is below minpoll");
  CHECK(errorOf("server 192.0.2.1 maxpoll 18\n").find("t.conf:1: ") == 0);
  CHECK(errorOf("server a/b\n") == "t.conf:1: server 'a/b' is neither an address nor a host name");
  std::string many;
  for (int i = 0; i < 17; ++i) many += "server 192.0.2." + std::to_string(i + 1) + "\n";
  CHECK(errorOf(many) == "t.conf:17: more than 16 servers");
}

TEST_CASE("config: a server name must resolve when the file is loaded") {
  char path[] = "/tmp/horloge-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  // A 70-character label: no resolver sends that, so this fails at once, network or not.
  std::string text = "server localhost\n\nserver " + std::string(70, 'a') + "\n";
  REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
  close(fd);
  std::string error;
  try {
    loadConfig(path);
  } catch (const ConfigError& e) {
    error = e.what();
  }
  CHECK(error.find(std::string(path) + ":3: server 'aaaa") == 0);
  CHECK(error.find("does not resolve") != std::string::npos);

  text = "server localhost iburst\n";
  REQUIRE(truncate(path, 0) == 0);
  fd = open(path, O_WRONLY);
  REQUIRE(write(fd, text.data(), text.size()) == ssize_t(text.size()));
  close(fd);
  Config c = loadConfig(path);
  unlink(path);
  CHECK(c.servers[0].name == "localhost");
  CHECK((c.servers[0].address == "127.0.0.1" || c.servers[0].address == "::1"));
}

TEST_CASE("config: nts") {
  Config off = parseConfig("", "t.conf");
  CHECK_FALSE(off.nts.enabled);
  Config c = parseConfig("nts cert /etc/horloge/nts.pem key /etc/horloge/nts.key\n"
                         "nts port 4461\nnts rotate 3600\nnts ntpserver time.example.org\n"
                         "nts maxconnections 500\n", "t.conf");
  CHECK(c.nts.enabled);
  CHECK(c.nts.cert == "/etc/horloge/nts.pem");
  CHECK(c.nts.key == "/etc/horloge/nts.key");
  CHECK(c.nts.port == 4461);
  CHECK(c.nts.rotate == 3600);
  CHECK(c.nts.ntpServer == "time.example.org");
  CHECK(c.nts.maxConnections == 500);
  CHECK(parseConfig("nts ntpserver 2001:db8::1\n", "t.conf").nts.ntpServer == "2001:db8::1");
  CHECK(c.user(Role::NTSKD) == "_horloge-ntskd");

  CHECK(errorOf("nts cert /a\n") == "t.conf:1: missing 'key' after '/a'");
  CHECK(errorOf("nts cert /a kye /b\n") == "t.conf:1: expected 'key' after the certificate path");
  CHECK(errorOf("nts port 0\n") == "t.conf:1: port 0 out of range [1, 65535]");
  CHECK(errorOf("nts rotate 5\n") == "t.conf:1: nts rotate seconds 5 out of range [10, 3.1536e+07]");
  CHECK(errorOf("nts rotate 60.5\n") == "t.conf:1: nts rotate must be a whole number of seconds");
  CHECK(errorOf("nts ntpserver bad/name\n") ==
        "t.conf:1: bad nts ntpserver 'bad/name': a host name or a numeric address");
  CHECK(errorOf("nts maxconnections 0\n") ==
        "t.conf:1: nts maxconnections 0 out of range [1, 100000]");
  CHECK(errorOf("nts ratelimits 1\n") ==
        "t.conf:1: unknown nts option 'ratelimits' (known: cert, port, rotate, ntpserver, "
        "maxconnections, ratelimit)");
  CHECK(errorOf("nts\n") == "t.conf:1: missing nts option after 'nts'");
  CHECK(errorOf("nts port 1\nnts port 2\n") == "t.conf:2: 'nts port' already given at line 1");
  CHECK(errorOf("user ntskd bad/user\n") == "t.conf:1: bad user name 'bad/user'");
}

TEST_CASE("config: u-blox receivers and the simulator's leap second") {
  auto c = horloge::parseConfig(
      "refclock nmea /dev/ttyACM0 ubx baud 38400\n"
      "refclock sim leap insert\n"
      "refclock sim ubx leap delete 2027-06-30 jitter 1e-6\n"
      "refclock nmea /dev/ttyAMA0\n",
      "t.conf");
  REQUIRE(c.refclocks.size() == 4);
  CHECK(c.refclocks[0].ubx);
  CHECK(c.refclocks[0].baud == 38400);
  CHECK(c.refclocks[1].ubx);                        // `leap` implies it
  CHECK(c.refclocks[1].simLeap == 1);
  CHECK(c.refclocks[1].simLeapAt == 0);             // the end of the start month
  CHECK(c.refclocks[2].simLeap == -1);
  CHECK(c.refclocks[2].simLeapAt == 1'814'400'000); // 2027-07-01 00:00:00 UTC
  CHECK(c.refclocks[2].jitter == doctest::Approx(1e-6));
  CHECK_FALSE(c.refclocks[3].ubx);
  CHECK(horloge::parseConfig("refclock sim leap insert 2028-02-29\n", "t.conf").refclocks[0].simLeapAt ==
        1'835'481'600);                             // 2028-03-01

  CHECK(errorOf("refclock pps /dev/pps0 ubx\n") == "t.conf:1: unknown refclock pps option 'ubx'");
  CHECK(errorOf("refclock shm 0 ubx\n") == "t.conf:1: unknown refclock shm option 'ubx'");
  CHECK(errorOf("refclock nmea /dev/ttyS0 ubx ubx\n") == "t.conf:1: 'ubx' given twice");
  CHECK(errorOf("refclock nmea /dev/ttyS0 leap insert\n") == "t.conf:1: unknown refclock nmea option 'leap'");
  CHECK(errorOf("refclock sim leap\n") == "t.conf:1: missing 'insert' or 'delete' after 'leap'");
  CHECK(errorOf("refclock sim leap add\n") == "t.conf:1: leap 'add' is not 'insert' or 'delete'");
  CHECK(errorOf("refclock sim leap insert 2026-12-15\n") ==
        "t.conf:1: leap date '2026-12-15' is not the last day of a month (a leap second ends a month)");
  CHECK(errorOf("refclock sim leap insert 2026-13-31\n") ==
        "t.conf:1: leap date '2026-13-31' is not a date YYYY-MM-DD between 2020 and 2099");
  CHECK(errorOf("refclock sim leap insert 31/12/2026\n") ==
        "t.conf:1: leap date '31/12/2026' is not a date YYYY-MM-DD between 2020 and 2099");
  CHECK(errorOf("refclock sim leap insert leap delete\n") == "t.conf:1: 'leap' given twice");
  auto r = horloge::parseConfig("refclock sim ubx-refuse\nrefclock sim ubx ubx-refuse leap insert\n",
                                "t.conf").refclocks;
  CHECK(r[0].simUbxRefuse);
  CHECK(r[0].ubx);                                  // implied
  CHECK(r[1].simUbxRefuse);
  CHECK(errorOf("refclock sim ubx-refuse ubx-refuse\n") == "t.conf:1: 'ubx-refuse' given twice");
  // A simulated world that starts at another date (a leap midnight in tests).
  auto w = horloge::parseConfig("refclock sim start 2027-06-30T23:58:30Z leap insert\n"
                                "clock sim start 2028-02-29T00:00:00Z offset 0.5\n", "t.conf");
  CHECK(w.refclocks[0].simStartAt == 1'814'399'910);
  CHECK(w.simStart == 1'835'395'200);
  CHECK(w.simOffset == 0.5);
  CHECK(errorOf("refclock sim start 2027-06-31T00:00:00Z\n") ==
        "t.conf:1: start '2027-06-31T00:00:00Z' is not a UTC time YYYY-MM-DDTHH:MM:SSZ between 2020 and 2099");
  CHECK(errorOf("clock sim start 2027-06-30 23:58:30\n") ==
        "t.conf:1: start '2027-06-30' is not a UTC time YYYY-MM-DDTHH:MM:SSZ between 2020 and 2099");
  CHECK(errorOf("clock sim start 2027-06-30T24:00:00Z\n") ==
        "t.conf:1: start '2027-06-30T24:00:00Z' is not a UTC time YYYY-MM-DDTHH:MM:SSZ between 2020 and 2099");
  CHECK(errorOf("refclock sim start\n") ==
        "t.conf:1: missing start time YYYY-MM-DDTHH:MM:SSZ after 'start'");
  CHECK(errorOf("refclock sim start 2027-06-30T23:58:30Z start 2027-06-30T23:58:30Z\n") ==
        "t.conf:1: 'start' given twice");
  CHECK(errorOf("refclock nmea /dev/ttyS0 ubx-refuse\n") ==
        "t.conf:1: unknown refclock nmea option 'ubx-refuse'");
}

TEST_CASE("config: chrony's and ntpd's lines are refused with the horloge form to write") {
  CHECK(errorOf("refclock PPS /dev/pps0 lock NMEA\n") ==
        "t.conf:1: unknown refclock driver 'PPS' (known: sim, nmea, pps, shm, sock): chrony's "
        "`refclock PPS`: write `refclock pps ...` (lower case)");
  CHECK(errorOf("refclock pps /dev/pps0 lock NMEA\n") ==
        "t.conf:1: unknown refclock pps option 'lock': no `lock` needed: PPS edges are numbered by "
        "a `refclock nmea` of the same file, or by clockd's clock once it is within 0.4 s");
  CHECK(errorOf("refclock shm 0 refid NMEA\n") ==
        "t.conf:1: unknown refclock shm option 'refid': the refid is PPS or NMEA by what the "
        "samples are");
  CHECK(errorOf("pool 2.debian.pool.ntp.org iburst\n").find(
            "`pool` needs DNS, which the appliance's VLAN has not: write one `server ADDRESS "
            "iburst` line per server") != std::string::npos);
  CHECK(errorOf("restrict default kod nomodify notrap nopeer noquery limited\n").find(
            "t.conf:1: unknown directive 'restrict': ntpd's `restrict`: write `allow") == 0);
  CHECK(errorOf("fudge 127.127.28.0 time1 0.304 refid NMEA\n") ==
        "t.conf:1: unknown directive 'fudge': ntpd's `fudge`: put `offset SECONDS` (its time1) on "
        "the `refclock` line");
  CHECK(errorOf("server 127.127.28.0 minpoll 4\n") ==
        "t.conf:1: server 127.127.28.0: ntpd's SHM driver: write `refclock shm 0` (`offset` for its "
        "fudge time1)");
  CHECK(errorOf("server 192.0.2.1 iburst xleave\n").find(
            "unknown server option 'xleave' (known: port, minpoll, maxpoll, iburst, prefer, "
            "noselect): not needed") != std::string::npos);
  CHECK(errorOf("local stratum 10\n").find("horloge never serves its free-running clock") !=
        std::string::npos);
  CHECK(errorOf("frobnicate 1\n") == "t.conf:1: unknown directive 'frobnicate'");
}
