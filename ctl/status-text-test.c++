#include "status-text.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <string>

namespace horloge::ctl {
namespace {

constexpr int64_t NOW = 1'700'000'000'000'000'000;

void fillInfo(ipc::DaemonInfo::Builder info, ipc::Role role, uint32_t pid, uint32_t uid) {
  info.setRole(role);
  info.setPid(pid);
  info.setUid(uid);
  info.setCapEff(role == ipc::Role::CLOCKD ? 1ull << 25 : 0);   // CAP_SYS_TIME
  info.setNoNewPrivs(true);
  info.setSeccomp(2);
  info.setVersion("0.1.0");
}

// A Stratum-1 on a simulated GPS: clockd locked, refclockd up with one source, netd as given.
void fillStatus(ipc::SystemStatus::Builder s, bool netdUp) {
  s.setGeneratedNs(NOW);
  fillInfo(s.initClockd(), ipc::Role::CLOCKD, 1200, 101);
  auto clock = s.initClock();
  clock.setBackend("observe");
  clock.setState(ipc::SyncState::LOCKED);
  clock.setReason("PPS\x1b[31m locked");   // an escape sequence must not reach the terminal
  clock.setRefid("PPS");
  clock.setSourceKind("pps");
  auto server = clock.initServer();
  server.setStratum(1);
  server.setRootDispersion(2);   // 30.5 us in NTP short format
  clock.setOffset(-2.5e-6);
  clock.setJitter(180e-9);
  clock.setFrequency(3.21);
  clock.setSamples(1234);
  clock.setLastSampleNs(NOW - 400'000'000);
  clock.setRejectedMessages(2);

  auto rc = s.initRefclockd();
  rc.setConnected(true);
  rc.setLastSeenNs(NOW - 100'000'000);
  fillInfo(rc.initInfo(), ipc::Role::REFCLOCKD, 1201, 102);
  auto sources = rc.initBody(2);
  sources[0].setName("sim");
  sources[0].setDriver("sim");
  sources[0].setLocked(true);
  sources[0].setSamples(1230);
  sources[0].setNmeaSentences(2460);
  sources[0].setNmeaBad(1);
  sources[0].setNmeaDelayNs(200'000'000);
  sources[0].setFixQuality(1);
  sources[0].setSatellitesUsed(9);
  sources[1].setName("nmea:/dev/ttyAMA0");
  sources[1].setDriver("nmea");
  sources[1].setFault("no PPS edge for 12 s");

  auto netd = s.initNetd();
  netd.setConnected(netdUp);
  if (netdUp) {
    fillInfo(netd.initInfo(), ipc::Role::NETD, 1202, 103);
    netd.setLastSeenNs(NOW - 1'000'000'000);
    auto stats = netd.initBody();
    stats.setReceived(100000);
    stats.setAnswered(99990);
    stats.setDropped(10);
    stats.setKernelRxStamps(99990);
    stats.setUserRxStamps(0);
    stats.setStateAgeNs(1'200'000'000);
    stats.setDroppedMode(6);
    stats.setDroppedLength(1);
    stats.setDroppedDenied(2);
    stats.setDroppedOwnAddress(1);
    stats.setRateLimited(40);
    stats.setKodSent(4);
    stats.setSendErrors(0);
    stats.setRequestsV3(10);
    stats.setRequestsV4(99980);
    stats.setInterleaved(500);
    stats.setKernelTxStamps(499);
  } else {
    netd.setLastSeenNs(NOW - 12'500'000'000);
  }
}

TEST_CASE("status table, all daemons up") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  fillStatus(s, true);
  CHECK(downPeers(s.asReader()).size() == 0);
  CHECK(std::string(renderStatus(s.asReader()).cStr()) == R"(clock      observe
state      locked (PPS?[31m locked)
stratum    1
refid      PPS
source     pps
max error  30.518 us (root delay/2 + root dispersion)
offset     -2.500 us
jitter     180 ns
frequency  +3.210 ppm
samples    1234 (last 400.000 ms ago)
rejected   2 peer messages
leap       none

daemon     state  pid   uid  CapEff            NoNewPrivs  Seccomp
clockd     up     1200  101  0000000002000000  yes         filter
refclockd  up     1201  102  0000000000000000  yes         filter
netd       up     1202  103  0000000000000000  yes         filter

refclock           locked  samples  NMEA delay  NMEA bad  fix  sats  fault
sim                yes     1230     200.000 ms  1/2460    1    9     -
nmea:/dev/ttyAMA0  no      0        0 ns        0/0       0    0     no PPS edge for 12 s

netd  received      answered  dropped  kernel RX  user RX      state age
      100000        99990     10       99990      0            1.200 s
      rate limited  KoD       denied   own addr   send errors  interleaved  kernel TX
      40            4         2        1          0            500          499
      length        version   mode     extension  auth         source       v1/v2/v3/v4
      1             0         6        0          0            0            0/0/10/99980
)");
}

TEST_CASE("status table, netd down") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  fillStatus(s, false);
  s.getClock().setGpsAlarm("GPS disagrees with 2 of 2 noselect peers");
  s.getClock().setLeapAlarm("the leap file has expired");
  auto down = downPeers(s.asReader());
  REQUIRE(down.size() == 1);
  CHECK(down[0] == "netd");
  CHECK(std::string(renderStatus(s.asReader()).cStr()) == R"(clock       observe
state       locked (PPS?[31m locked)
stratum     1
refid       PPS
source      pps
max error   30.518 us (root delay/2 + root dispersion)
offset      -2.500 us
jitter      180 ns
frequency   +3.210 ppm
samples     1234 (last 400.000 ms ago)
rejected    2 peer messages
leap        none
GPS alarm   GPS disagrees with 2 of 2 noselect peers
leap alarm  the leap file has expired

daemon     state  pid   uid  CapEff            NoNewPrivs  Seccomp
clockd     up     1200  101  0000000002000000  yes         filter
refclockd  up     1201  102  0000000000000000  yes         filter
netd       down   -     -    -                 -           -

refclock           locked  samples  NMEA delay  NMEA bad  fix  sats  fault
sim                yes     1230     200.000 ms  1/2460    1    9     -
nmea:/dev/ttyAMA0  no      0        0 ns        0/0       0    0     no PPS edge for 12 s

netd is down (last seen 12.500 s ago)
)");
}

TEST_CASE("an empty status (fresh clockd) renders without surprises") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  auto text = renderStatus(s.asReader());
  CHECK(text.startsWith("clock      -\nstate      unsynchronised\n"));
  CHECK(downPeers(s.asReader()).size() == 2);
}

TEST_CASE("status table, NTS on: keys, requests, key exchanges; ntskd down is a down peer") {
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  fillStatus(s, true);
  s.getNetd().getBody().setNtsRequests(70);
  s.getNetd().getBody().setNtsNaks(3);
  s.getNetd().getBody().setNtsCookiesIssued(80);
  auto nts = s.initNts();
  nts.setEnabled(true);
  nts.setKeys(2);
  nts.setCurrentKeyAgeNs(90'000'000'000);
  nts.setRotations(1);
  auto ke = s.initNtskd();
  ke.setConnected(true);
  ke.initBody().setSessions(12);
  ke.getBody().setCompleted(10);
  ke.getBody().setCookiesIssued(80);
  ke.getBody().setFailedTimeout(2);
  ke.getBody().setRefusedRate(3);
  std::string text = renderStatus(s.asReader()).cStr();
  CHECK(text.find("ntskd      up") != std::string::npos);
  CHECK(text.find(R"(
NTS     keys      key age    rotations  requests   NAKs      cookies      malformed
        2         90.000 s   1          70         3         80           0
NTS-KE  sessions  completed  cookies    open       busy      handshake    ALPN
        12        10         80         0          0         0            0
        limited   timeout    truncated  oversized  critical  bad request  I/O
        3         2          0          0          0         0            0
)") != std::string::npos);
  CHECK(downPeers(s.asReader()).size() == 0);
  ke.setConnected(false);
  auto down = downPeers(s.asReader());
  REQUIRE(down.size() == 1);
  CHECK(down[0] == "ntskd");
}

}  // namespace
}  // namespace horloge::ctl
