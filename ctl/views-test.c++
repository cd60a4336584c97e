#include "views.h"
#include <capnp/message.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <doctest/doctest.h>

namespace horloge::ctl {
namespace {

constexpr int64_t NOW = 1'700'000'000'000'000'000;

// A Stratum-1 on one GPS receiver (NMEA + PPS), locked, serving a few clients.
void fill(ipc::SystemStatus::Builder s) {
  s.setGeneratedNs(NOW);
  auto info = s.initClockd();
  info.setPid(1200);
  info.setUid(101);
  info.setCapEff(1ull << 25);
  info.setNoNewPrivs(true);
  info.setSeccomp(2);
  auto clock = s.initClock();
  clock.setBackend("system");
  clock.setState(ipc::SyncState::LOCKED);
  clock.setReason("PPS locked");
  clock.setRefid("PPS");
  auto server = clock.initServer();
  server.setStratum(1);
  server.setRootDelay(0);
  server.setRootDispersion(66);   // ~1 ms in 16.16
  server.setReferenceTime((uint64_t(NOW / 1'000'000'000 - 1 + 2'208'988'800) << 32));
  clock.setOffset(-2.5e-7);
  clock.setOffsetSigma(4e-8);
  clock.setJitter(1.8e-7);
  clock.setFrequency(-12.345);
  clock.setFrequencySigma(0.002);
  clock.setWander(1.2e-9);
  clock.setSteps(1);

  auto sources = s.initSources(3);
  auto src = [&](int i, uint8_t id, const char* kind, const char* mark, double offset) {
    sources[i].setSourceId(id);
    sources[i].setKind(kind);
    sources[i].setMark(mark);
    sources[i].setOffset(offset);
    sources[i].setError(offset == 0 ? 0 : 5e-7);
    sources[i].setJitter(2e-7);
    sources[i].setSamples(64);
    sources[i].setLastSampleNs(NOW - 1'000'000'000);
  };
  src(0, 1, "pps", "*", -2.5e-7);
  src(1, 0, "refclock", "-", 0.0123);
  src(2, 7, "ntp", "\x1b", 0);   // not a known mark: shown as ?
  sources[2].setName("192.0.2.7");
  sources[2].setStratum(2);
  sources[2].setPoll(6);
  sources[2].setReach(0377);

  auto rc = s.initRefclockd();
  rc.setConnected(true);
  auto list = rc.initBody(2);
  list[0].setSourceId(0);
  list[0].setName("nmea:/dev/ttyAMA0");
  list[0].setDriver("nmea");
  list[0].setLocked(true);
  list[0].setFixQuality(1);
  list[0].setSatellitesUsed(8);
  list[0].setSatellitesInView(11);
  list[0].setHdop(0.9f);
  list[0].setPdop(1.6f);
  list[0].setNmeaDelayNs(280'000'000);
  auto sats = list[0].initSatellites(2);
  sats[0].setSystem("GP");
  sats[0].setPrn(5);
  sats[0].setElevation(63);
  sats[0].setAzimuth(120);
  sats[0].setSnr(44);
  sats[1].setSystem("GL");
  sats[1].setPrn(71);
  sats[1].setElevation(-2);
  sats[1].setAzimuth(300);
  sats[1].setSnr(0);
  list[1].setSourceId(1);
  list[1].setName("pps:/dev/pps0");
  list[1].setDriver("pps");
  list[1].setLocked(true);
  list[1].setHdop(NAN);
  list[1].setPdop(NAN);
  list[1].setFault("late, \"edge\"");

  auto netd = s.initNetd();
  netd.setConnected(true);
  auto stats = netd.initBody();
  stats.setReceived(100000);
  stats.setAnswered(99950);
  stats.setDropped(50);
  stats.setRateLimited(40);
  stats.setKodSent(4);
  stats.setRequestsV4(99990);
  stats.setStateAgeNs(400'000'000);
  auto top = stats.initTopClients(2);
  top[0].setAddress("192.0.2.7");
  top[0].setRequests(5000);
  top[0].setRateLimited(40);
  top[0].setKodSent(4);
  top[0].setLastAgoNs(20'000'000);
  top[1].setAddress("2001:db8:1:2::/64");
  top[1].setRequests(16);
  top[1].setLastAgoNs(64'000'000'000);
}

kj::String run(kj::StringPtr name, Format format) {
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<ipc::SystemStatus>());
  auto& command = KJ_ASSERT_NONNULL(findCommand(name));
  auto views = command.views(m.getRoot<ipc::SystemStatus>().asReader());
  return render(views, format);
}

TEST_CASE("horlogectl status: golden text, CSV and JSON") {
  CHECK(run("status", Format::TEXT) == R"(Field            Value
State            locked
Reason           PPS locked
Reference ID     PPS
Stratum          1
Ref time         1.000 s ago
System time      -250 ns
Offset sigma     40 ns
Jitter           180 ns
Frequency        -12.345 ppm
Frequency sigma  0.002 ppm
Wander           1.2e-09 s/s/sqrt(s)
Root delay       0 ns
Root dispersion  1.007 ms
Leap status      normal
Leap source      none
Leap expiry      -
Leap alarm       -
Steps            1
Backend          system

Daemon     State  PID   UID  CapEff            NoNewPrivs  Seccomp
clockd     up     1200  101  0000000002000000  yes         filter
refclockd  up     0     0    0000000000000000  no          off
netd       up     0     0    0000000000000000  no          off
)");
  CHECK(run("status", Format::CSV) == R"(field,value
State,locked
Reason,PPS locked
Reference ID,PPS
Stratum,1
Ref time,1
System time,-2.5e-07
Offset sigma,4e-08
Jitter,1.8e-07
Frequency,-12.345
Frequency sigma,0.002
Wander,1.2e-09
Root delay,0
Root dispersion,0.00100708008
Leap status,normal
Leap source,none
Leap expiry,
Leap alarm,
Steps,1
Backend,system

daemon,state,pid,uid,capeff,nonewprivs,seccomp
clockd,up,1200,101,0000000002000000,yes,filter
refclockd,up,0,0,0000000000000000,no,off
netd,up,0,0,0000000000000000,no,off
)");
  CHECK(run("status", Format::JSON) == R"({"clock":[{"field":"State","value":"locked"},
 {"field":"Reason","value":"PPS locked"},
 {"field":"Reference ID","value":"PPS"},
 {"field":"Stratum","value":1},
 {"field":"Ref time","value":1},
 {"field":"System time","value":-2.5e-07},
 {"field":"Offset sigma","value":4e-08},
 {"field":"Jitter","value":1.8e-07},
 {"field":"Frequency","value":-12.345},
 {"field":"Frequency sigma","value":0.002},
 {"field":"Wander","value":1.2e-09},
 {"field":"Root delay","value":0},
 {"field":"Root dispersion","value":0.00100708008},
 {"field":"Leap status","value":"normal"},
 {"field":"Leap source","value":"none"},
 {"field":"Leap expiry","value":null},
 {"field":"Leap alarm","value":""},
 {"field":"Steps","value":1},
 {"field":"Backend","value":"system"}],
"daemons":[{"daemon":"clockd","state":"up","pid":1200,"uid":101,"capeff":"0000000002000000","nonewprivs":"yes","seccomp":"filter"},
 {"daemon":"refclockd","state":"up","pid":0,"uid":0,"capeff":"0000000000000000","nonewprivs":"no","seccomp":"off"},
 {"daemon":"netd","state":"up","pid":0,"uid":0,"capeff":"0000000000000000","nonewprivs":"no","seccomp":"off"}]}
)");
}

TEST_CASE("horlogectl sources: golden text, CSV and JSON") {
  CHECK(run("sources", Format::TEXT) == R"(M  Name               Kind      St  Poll  Reach  Offset      Error   Jitter  Last
*  pps:/dev/pps0      pps       0   0     -      -250 ns     500 ns  200 ns  1.000 s ago
-  nmea:/dev/ttyAMA0  refclock  0   0     -      +12.300 ms  500 ns  200 ns  1.000 s ago
?  192.0.2.7          ntp       2   6     377    +0 ns       0 ns    200 ns  1.000 s ago
)");
  CHECK(run("sources", Format::CSV) == R"(m,name,kind,st,poll,reach,offset,error,jitter,last
*,pps:/dev/pps0,pps,0,0,-,-2.5e-07,5e-07,2e-07,1
-,nmea:/dev/ttyAMA0,refclock,0,0,-,0.0123,5e-07,2e-07,1
?,192.0.2.7,ntp,2,6,377,0,0,2e-07,1
)");
  CHECK(run("sources", Format::JSON) == R"([{"m":"*","name":"pps:/dev/pps0","kind":"pps","st":0,"poll":0,"reach":"-","offset":-2.5e-07,"error":5e-07,"jitter":2e-07,"last":1},
 {"m":"-","name":"nmea:/dev/ttyAMA0","kind":"refclock","st":0,"poll":0,"reach":"-","offset":0.0123,"error":5e-07,"jitter":2e-07,"last":1},
 {"m":"?","name":"192.0.2.7","kind":"ntp","st":2,"poll":6,"reach":"377","offset":0,"error":0,"jitter":2e-07,"last":1}]
)");
}

TEST_CASE("horlogectl sourcestats: golden text, CSV and JSON") {
  CHECK(run("sourcestats", Format::TEXT) == R"(Name               Kind      NP  Offset      Std Dev  Jitter
pps:/dev/pps0      pps       64  -250 ns     500 ns   200 ns
nmea:/dev/ttyAMA0  refclock  64  +12.300 ms  500 ns   200 ns
192.0.2.7          ntp       64  +0 ns       0 ns     200 ns
)");
  CHECK(run("sourcestats", Format::CSV) == R"(name,kind,np,offset,std_dev,jitter
pps:/dev/pps0,pps,64,-2.5e-07,5e-07,2e-07
nmea:/dev/ttyAMA0,refclock,64,0.0123,5e-07,2e-07
192.0.2.7,ntp,64,0,0,2e-07
)");
  CHECK(run("sourcestats", Format::JSON) == R"([{"name":"pps:/dev/pps0","kind":"pps","np":64,"offset":-2.5e-07,"std_dev":5e-07,"jitter":2e-07},
 {"name":"nmea:/dev/ttyAMA0","kind":"refclock","np":64,"offset":0.0123,"std_dev":5e-07,"jitter":2e-07},
 {"name":"192.0.2.7","kind":"ntp","np":64,"offset":0,"std_dev":0,"jitter":2e-07}]
)");
}

TEST_CASE("horlogectl tracking: golden text, CSV and JSON") {
  CHECK(run("tracking", Format::TEXT) == R"(Field            Value
State            locked
Reason           PPS locked
Reference ID     PPS
Stratum          1
Ref time         1.000 s ago
System time      -250 ns
Offset sigma     40 ns
Jitter           180 ns
Frequency        -12.345 ppm
Frequency sigma  0.002 ppm
Wander           1.2e-09 s/s/sqrt(s)
Root delay       0 ns
Root dispersion  1.007 ms
Leap status      normal
Leap source      none
Leap expiry      -
Leap alarm       -
Steps            1
Backend          system
)");
  CHECK(run("tracking", Format::CSV) == R"(field,value
State,locked
Reason,PPS locked
Reference ID,PPS
Stratum,1
Ref time,1
System time,-2.5e-07
Offset sigma,4e-08
Jitter,1.8e-07
Frequency,-12.345
Frequency sigma,0.002
Wander,1.2e-09
Root delay,0
Root dispersion,0.00100708008
Leap status,normal
Leap source,none
Leap expiry,
Leap alarm,
Steps,1
Backend,system
)");
  CHECK(run("tracking", Format::JSON) == R"([{"field":"State","value":"locked"},
 {"field":"Reason","value":"PPS locked"},
 {"field":"Reference ID","value":"PPS"},
 {"field":"Stratum","value":1},
 {"field":"Ref time","value":1},
 {"field":"System time","value":-2.5e-07},
 {"field":"Offset sigma","value":4e-08},
 {"field":"Jitter","value":1.8e-07},
 {"field":"Frequency","value":-12.345},
 {"field":"Frequency sigma","value":0.002},
 {"field":"Wander","value":1.2e-09},
 {"field":"Root delay","value":0},
 {"field":"Root dispersion","value":0.00100708008},
 {"field":"Leap status","value":"normal"},
 {"field":"Leap source","value":"none"},
 {"field":"Leap expiry","value":null},
 {"field":"Leap alarm","value":""},
 {"field":"Steps","value":1},
 {"field":"Backend","value":"system"}]
)");
}

TEST_CASE("horlogectl serverstats: golden text, CSV and JSON") {
  CHECK(run("serverstats", Format::TEXT) == R"(Counter               Value
NTP packets received  100000
NTP packets answered  99950
NTP packets dropped   50
Rate limited          40
KoD sent              4
Denied                0
Bad length            0
Bad version           0
Not client mode       0
Bad extension         0
Authenticated         0
Bad source            0
From own address      0
Send errors           0
NTPv1 requests        0
NTPv2 requests        0
NTPv3 requests        0
NTPv4 requests        99990
Interleaved replies   0
Kernel RX timestamps  0
User RX timestamps    0
Kernel TX timestamps  0
State age             400.000 ms
)");
  CHECK(run("serverstats", Format::CSV) == R"(counter,value
NTP packets received,100000
NTP packets answered,99950
NTP packets dropped,50
Rate limited,40
KoD sent,4
Denied,0
Bad length,0
Bad version,0
Not client mode,0
Bad extension,0
Authenticated,0
Bad source,0
From own address,0
Send errors,0
NTPv1 requests,0
NTPv2 requests,0
NTPv3 requests,0
NTPv4 requests,99990
Interleaved replies,0
Kernel RX timestamps,0
User RX timestamps,0
Kernel TX timestamps,0
State age,0.4
)");
  CHECK(run("serverstats", Format::JSON) == R"([{"counter":"NTP packets received","value":100000},
 {"counter":"NTP packets answered","value":99950},
 {"counter":"NTP packets dropped","value":50},
 {"counter":"Rate limited","value":40},
 {"counter":"KoD sent","value":4},
 {"counter":"Denied","value":0},
 {"counter":"Bad length","value":0},
 {"counter":"Bad version","value":0},
 {"counter":"Not client mode","value":0},
 {"counter":"Bad extension","value":0},
 {"counter":"Authenticated","value":0},
 {"counter":"Bad source","value":0},
 {"counter":"From own address","value":0},
 {"counter":"Send errors","value":0},
 {"counter":"NTPv1 requests","value":0},
 {"counter":"NTPv2 requests","value":0},
 {"counter":"NTPv3 requests","value":0},
 {"counter":"NTPv4 requests","value":99990},
 {"counter":"Interleaved replies","value":0},
 {"counter":"Kernel RX timestamps","value":0},
 {"counter":"User RX timestamps","value":0},
 {"counter":"Kernel TX timestamps","value":0},
 {"counter":"State age","value":0.4}]
)");
}

TEST_CASE("horlogectl clients: golden text, CSV and JSON") {
  CHECK(run("clients", Format::TEXT) == R"(Address            NTP   Drop  KoD  Last
192.0.2.7          5000  40    4    20.000 ms ago
2001:db8:1:2::/64  16    0     0    64.000 s ago
)");
  CHECK(run("clients", Format::CSV) == R"(address,ntp,drop,kod,last
192.0.2.7,5000,40,4,0.02
2001:db8:1:2::/64,16,0,0,64
)");
  CHECK(run("clients", Format::JSON) == R"([{"address":"192.0.2.7","ntp":5000,"drop":40,"kod":4,"last":0.02},
 {"address":"2001:db8:1:2::/64","ntp":16,"drop":0,"kod":0,"last":64}]
)");
}

TEST_CASE("horlogectl gnss: golden text, CSV and JSON") {
  CHECK(run("gnss", Format::TEXT) == R"(Receiver           Locked  Fix  Used  In view  HDOP  PDOP  NMEA delay  Anomaly  Fault
nmea:/dev/ttyAMA0  yes     1    8     11       0.9   1.6   280.000 ms  -        -
pps:/dev/pps0      yes     0    0     0        -     -     0 ns        -        late, "edge"

Receiver           System  PRN  Elevation  Azimuth  SNR
nmea:/dev/ttyAMA0  GP      5    63         120      44
nmea:/dev/ttyAMA0  GL      71   -2         300      0
)");
  CHECK(run("gnss", Format::CSV) == R"(receiver,locked,fix,used,in_view,hdop,pdop,nmea_delay,anomaly,fault
nmea:/dev/ttyAMA0,yes,1,8,11,0.9,1.6,0.28,,
pps:/dev/pps0,yes,0,0,0,,,0,,"late, ""edge"""

receiver,system,prn,elevation,azimuth,snr
nmea:/dev/ttyAMA0,GP,5,63,120,44
nmea:/dev/ttyAMA0,GL,71,-2,300,0
)");
  CHECK(run("gnss", Format::JSON) == R"({"receivers":[{"receiver":"nmea:/dev/ttyAMA0","locked":"yes","fix":1,"used":8,"in_view":11,"hdop":0.9,"pdop":1.6,"nmea_delay":0.28,"anomaly":"","fault":""},
 {"receiver":"pps:/dev/pps0","locked":"yes","fix":0,"used":0,"in_view":0,"hdop":null,"pdop":null,"nmea_delay":0,"anomaly":"","fault":"late, \"edge\""}],
"satellites":[{"receiver":"nmea:/dev/ttyAMA0","system":"GP","prn":5,"elevation":63,"azimuth":120,"snr":44},
 {"receiver":"nmea:/dev/ttyAMA0","system":"GL","prn":71,"elevation":-2,"azimuth":300,"snr":0}]}
)");
}

// HORLOGE_PRINT=1 ctl-test -tc=print: prints every rendering, to review a layout change.
TEST_CASE("print" * doctest::skip(getenv("HORLOGE_PRINT") == nullptr)) {
  for (auto& c: commands()) {
    for (auto f: {Format::TEXT, Format::CSV, Format::JSON}) {
      auto t = run(c.name, f);
      printf("==== %s %d\n%s", c.name.cStr(), int(f), t.cStr());
    }
  }
}

}  // namespace
}  // namespace horloge::ctl
