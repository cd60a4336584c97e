#include "views.h"
#include "status-json.h"
#include <capnp/message.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fstream>
#include <iterator>
#include <string>

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
  server.setRefid(0x50505300);
  server.setRootDelay(0);
  server.setRootDispersion(66);   // ~1 ms in 16.16
  server.setReferenceTime((uint64_t(NOW / 1'000'000'000 - 1 + 2'208'988'800) << 32));
  clock.setOffset(-2.5e-7);
  clock.setOffsetSigma(4e-8);
  clock.setJitter(1.8e-7);
  auto temp = clock.initTemperature();
  temp.setSensor("/sys/class/thermal/thermal_zone0/temp");
  temp.setCelsius(47.3);
  temp.setReadNs(NOW - 4'000'000'000);
  temp.setActive(true);
  temp.setReference(45);
  temp.setLag(300);
  temp.setWindows(400);
  temp.setLinear(0.251);
  temp.setLinearSigma(0.004);
  temp.setQuadratic(0.0051);
  temp.setQuadraticSigma(0.0003);
  clock.setFrequency(-12.345);
  clock.setFrequencySigma(0.002);
  clock.setWander(1.2e-9);
  clock.setSteps(1);
  clock.setSourceKind("pps");
  clock.setLastOffset(3.1e-7);
  clock.setRmsOffset(2.2e-7);
  clock.setResidualFrequency(0.001);
  clock.setUpdateIntervalNs(1'000'000'000);
  clock.setSamples(6000);
  clock.setLastSampleNs(NOW - 1'000'000'000);
  info.setStartedNs(NOW - 3600'000'000'000);
  info.setVersion("0.1.0");

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
    sources[i].setLastOffset(offset * 1.1);
    sources[i].setReach(0377);
  };
  src(0, 1, "pps", "*", -2.5e-7);
  src(1, 0, "refclock", "-", 0.0123);
  src(2, 7, "ntp", "\x1b", 0);   // not a known mark: shown as ?
  sources[2].setName("192.0.2.7");
  sources[2].setStratum(2);
  sources[2].setPoll(6);
  sources[2].setReach(0177);
  sources[2].setDelay(0.00042);
  sources[2].setLastSampleNs(NOW - 5000'000'000'000);

  auto rc = s.initRefclockd();
  rc.setConnected(true);
  rc.setRestarts(2);
  rc.initInfo().setPid(1300);
  rc.getInfo().setUid(102);
  rc.getInfo().setNoNewPrivs(true);
  rc.getInfo().setSeccomp(2);
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
  list[0].setDeviceOpen(true);
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

kj::String user(uint32_t uid) { return uid == 101 ? kj::str("_horloge-clockd") : kj::str(""); }

kj::String run(kj::StringPtr name, Format format) {
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<ipc::SystemStatus>());
  auto& command = KJ_ASSERT_NONNULL(findCommand(name));
  Lookup lookup{user};
  auto views = command.views(m.getRoot<ipc::SystemStatus>().asReader(), lookup);
  return render(views, format);
}



TEST_CASE("horlogectl status: golden text, CSV and JSON") {
  CHECK(run("status", Format::TEXT) == R"G(State       : locked
Reason      : PPS locked
Stratum     : 1
Refid       : PPS
Source      : pps
Max error   : 1.007 ms
Offset      : -250 ns
Jitter      : 180 ns
Frequency   : -12.345 ppm
Samples     : 6000
Last sample : 1.000 s ago
Leap source : none
Leap expiry : -
Leap alarm  : -
GPS alarm   : -
refclockd   : yes
netd        : yes
Temperature : 47.3 C
)G");
  CHECK(run("status", Format::CSV) == R"G(state,reason,stratum,refid,source,max_error,offset,jitter,frequency_ppm,samples,last_sample,leap_source,leap_valid_until,leap_alarm,gps_alarm,refclockd_connected,netd_connected,temperature_c
locked,PPS locked,1,PPS,pps,0.00100708008,-2.5e-07,1.8e-07,-12.345,6000,1,none,,,,true,true,47.3
)G");
  CHECK(run("status", Format::JSON) == R"G({"state":"locked","reason":"PPS locked","stratum":1,"refid":"PPS","source":"pps","max_error":0.00100708008,"offset":-2.5e-07,"jitter":1.8e-07,"frequency_ppm":-12.345,"samples":6000,"last_sample":1,"leap_source":"none","leap_valid_until":null,"leap_alarm":"","gps_alarm":"","refclockd_connected":true,"netd_connected":true,"temperature_c":47.3}
)G");
}

TEST_CASE("horlogectl sources: golden text, CSV and JSON") {
  CHECK(run("sources", Format::TEXT) == R"G(M  S  Name               Stratum  Poll  Reach  LastRx  Last sample
#  *  pps:/dev/pps0      0        0     377    1       -275 ns +/- 500 ns
#  -  nmea:/dev/ttyAMA0  0        0     377    1       +13.530 ms +/- 500 ns
^  ?  192.0.2.7          2        6     177    83m     +0 ns +/- 0 ns
)G");
  CHECK(run("sources", Format::CSV) == R"G(mode,state,name,kind,stratum,poll,reach,last_rx,last_offset,error,offset,jitter,samples,delay,noselect
refclock,selected,pps:/dev/pps0,pps,0,0,255,1,-2.75e-07,5e-07,-2.5e-07,2e-07,64,,false
refclock,outlier,nmea:/dev/ttyAMA0,refclock,0,0,255,1,0.01353,5e-07,0.0123,2e-07,64,,false
server,unusable,192.0.2.7,ntp,2,6,127,5000,0,0,0,2e-07,64,0.00042,false
)G");
  CHECK(run("sources", Format::JSON) == R"G([{"mode":"refclock","state":"selected","name":"pps:/dev/pps0","kind":"pps","stratum":0,"poll":0,"reach":255,"last_rx":1,"last_offset":-2.75e-07,"error":5e-07,"offset":-2.5e-07,"jitter":2e-07,"samples":64,"delay":null,"noselect":false},
 {"mode":"refclock","state":"outlier","name":"nmea:/dev/ttyAMA0","kind":"refclock","stratum":0,"poll":0,"reach":255,"last_rx":1,"last_offset":0.01353,"error":5e-07,"offset":0.0123,"jitter":2e-07,"samples":64,"delay":null,"noselect":false},
 {"mode":"server","state":"unusable","name":"192.0.2.7","kind":"ntp","stratum":2,"poll":6,"reach":127,"last_rx":5000,"last_offset":0,"error":0,"offset":0,"jitter":2e-07,"samples":64,"delay":0.00042,"noselect":false}]
)G");
}

TEST_CASE("horlogectl sourcestats: golden text, CSV and JSON") {
  CHECK(run("sourcestats", Format::TEXT) == R"G(Name               Kind      NP  Offset      Std Dev  Error
pps:/dev/pps0      pps       64  -250 ns     200 ns   500 ns
nmea:/dev/ttyAMA0  refclock  64  +12.300 ms  200 ns   500 ns
192.0.2.7          ntp       64  +0 ns       200 ns   0 ns
)G");
  CHECK(run("sourcestats", Format::CSV) == R"G(name,kind,samples,offset,std_dev,error
pps:/dev/pps0,pps,64,-2.5e-07,2e-07,5e-07
nmea:/dev/ttyAMA0,refclock,64,0.0123,2e-07,5e-07
192.0.2.7,ntp,64,0,2e-07,0
)G");
  CHECK(run("sourcestats", Format::JSON) == R"G([{"name":"pps:/dev/pps0","kind":"pps","samples":64,"offset":-2.5e-07,"std_dev":2e-07,"error":5e-07},
 {"name":"nmea:/dev/ttyAMA0","kind":"refclock","samples":64,"offset":0.0123,"std_dev":2e-07,"error":5e-07},
 {"name":"192.0.2.7","kind":"ntp","samples":64,"offset":0,"std_dev":2e-07,"error":0}]
)G");
}

TEST_CASE("horlogectl tracking: golden text, CSV and JSON") {
  CHECK(run("tracking", Format::TEXT) == R"G(Reference ID    : 50505300 (PPS)
Stratum         : 1
Ref time (UTC)  : 2023-11-14 22:13:19.000 UTC (1.000 s ago)
System time     : 250 ns slow of the reference
Last offset     : +310 ns
RMS offset      : 220 ns
Frequency       : 12.345 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.002 ppm
Root delay      : 0 ns
Root dispersion : 1.007 ms
Update interval : 1.000 s
Leap status     : Normal
Leap source     : none
Leap expiry     : -
State           : locked
Reason          : PPS locked
Source          : pps
Max error       : 1.007 ms
Offset sigma    : 40 ns
Jitter          : 180 ns
Wander          : 1.2e-09 s/s/sqrt(s)
Steps           : 1
Clock           : system
Leap alarm      : -
GPS alarm       : -
Temperature     : 47.3 C
Temp sensor     : /sys/class/thermal/thermal_zone0/temp
Temp comp       : in use
Temp coeff      : +0.2510 +/- 0.0040 ppm/C
Temp coeff 2    : +0.00510 +/- 0.00030 ppm/C^2
Temp lag        : 300.000 s
)G");
  CHECK(run("tracking", Format::CSV) == R"G(reference_id,stratum,ref_time,system_time,last_offset,rms_offset,frequency_ppm,residual_frequency_ppm,skew_ppm,root_delay,root_dispersion,update_interval,leap_status,leap_source,leap_valid_until,state,reason,source,max_error,offset_sigma,jitter,wander,steps,backend,leap_alarm,gps_alarm,temperature_c,temperature_sensor,temperature_active,temperature_linear_ppm_per_c,temperature_linear_sigma_ppm_per_c,temperature_quadratic_ppm_per_c2,temperature_quadratic_sigma_ppm_per_c2,temperature_lag
PPS,1,1699999999.000,-2.5e-07,3.1e-07,2.2e-07,-12.345,0.001,0.002,0,0.00100708008,1,normal,none,,locked,PPS locked,pps,0.00100708008,4e-08,1.8e-07,1.2e-09,1,system,,,47.3,/sys/class/thermal/thermal_zone0/temp,true,0.251,0.004,0.0051,0.0003,300
)G");
  CHECK(run("tracking", Format::JSON) == R"G({"reference_id":"PPS","stratum":1,"ref_time":1699999999.000,"system_time":-2.5e-07,"last_offset":3.1e-07,"rms_offset":2.2e-07,"frequency_ppm":-12.345,"residual_frequency_ppm":0.001,"skew_ppm":0.002,"root_delay":0,"root_dispersion":0.00100708008,"update_interval":1,"leap_status":"normal","leap_source":"none","leap_valid_until":null,"state":"locked","reason":"PPS locked","source":"pps","max_error":0.00100708008,"offset_sigma":4e-08,"jitter":1.8e-07,"wander":1.2e-09,"steps":1,"backend":"system","leap_alarm":"","gps_alarm":"","temperature_c":47.3,"temperature_sensor":"/sys/class/thermal/thermal_zone0/temp","temperature_active":true,"temperature_linear_ppm_per_c":0.251,"temperature_linear_sigma_ppm_per_c":0.004,"temperature_quadratic_ppm_per_c2":0.0051,"temperature_quadratic_sigma_ppm_per_c2":0.0003,"temperature_lag":300}
)G");
}

TEST_CASE("horlogectl serverstats: golden text, CSV and JSON") {
  CHECK(run("serverstats", Format::TEXT) == R"G(NTP packets received : 100000
NTP packets answered : 99950
NTP packets dropped  : 50
Rate limited         : 40
KoD sent             : 4
Denied               : 0
Bad length           : 0
Bad version          : 0
Not client mode      : 0
Bad extension        : 0
Authenticated        : 0
Bad source           : 0
From own address     : 0
Bad NTS fields       : 0
Send errors          : 0
NTPv1 requests       : 0
NTPv2 requests       : 0
NTPv3 requests       : 0
NTPv4 requests       : 99990
Interleaved replies  : 0
Kernel RX timestamps : 0
User RX timestamps   : 0
Kernel TX timestamps : 0
NTS requests         : 0
NTS NAKs             : 0
NTS cookies issued   : 0
State age            : 400.000 ms
)G");
  CHECK(run("serverstats", Format::CSV) == R"G(received,answered,dropped,rate_limited,kod_sent,dropped_denied,dropped_length,dropped_version,dropped_mode,dropped_extension,dropped_auth,dropped_source,dropped_own_address,dropped_nts,send_errors,requests_v1,requests_v2,requests_v3,requests_v4,interleaved,kernel_rx_stamps,user_rx_stamps,kernel_tx_stamps,nts_requests,nts_naks,nts_cookies_issued,state_age
100000,99950,50,40,4,0,0,0,0,0,0,0,0,0,0,0,0,0,99990,0,0,0,0,0,0,0,0.4
)G");
  CHECK(run("serverstats", Format::JSON) == R"G({"received":100000,"answered":99950,"dropped":50,"rate_limited":40,"kod_sent":4,"dropped_denied":0,"dropped_length":0,"dropped_version":0,"dropped_mode":0,"dropped_extension":0,"dropped_auth":0,"dropped_source":0,"dropped_own_address":0,"dropped_nts":0,"send_errors":0,"requests_v1":0,"requests_v2":0,"requests_v3":0,"requests_v4":99990,"interleaved":0,"kernel_rx_stamps":0,"user_rx_stamps":0,"kernel_tx_stamps":0,"nts_requests":0,"nts_naks":0,"nts_cookies_issued":0,"state_age":0.4}
)G");
}

TEST_CASE("horlogectl clients: golden text, CSV and JSON") {
  CHECK(run("clients", Format::TEXT) == R"G(Address            NTP   Drop  KoD  Last
192.0.2.7          5000  40    4    20.000 ms ago
2001:db8:1:2::/64  16    0     0    64.000 s ago
)G");
  CHECK(run("clients", Format::CSV) == R"G(address,requests,rate_limited,kod_sent,last
192.0.2.7,5000,40,4,0.02
2001:db8:1:2::/64,16,0,0,64
)G");
  CHECK(run("clients", Format::JSON) == R"G([{"address":"192.0.2.7","requests":5000,"rate_limited":40,"kod_sent":4,"last":0.02},
 {"address":"2001:db8:1:2::/64","requests":16,"rate_limited":0,"kod_sent":0,"last":64}]
)G");
}

TEST_CASE("horlogectl gnss: golden text, CSV and JSON") {
  CHECK(run("gnss", Format::TEXT) == R"G(Receiver           Locked  Fix  Used  In view  HDOP  PDOP  NMEA delay  Anomaly  Fault
nmea:/dev/ttyAMA0  yes     1    8     11       0.9   1.6   280.000 ms  -        -
pps:/dev/pps0      yes     0    0     0        -     -     0 ns        -        late, "edge"

Receiver           System  PRN  Elevation  Azimuth  SNR
nmea:/dev/ttyAMA0  GP      5    63         120      44
nmea:/dev/ttyAMA0  GL      71   -2         300      0
)G");
  CHECK(run("gnss", Format::CSV) == R"G(receiver,driver,device_open,locked,fix,satellites_used,satellites_in_view,hdop,pdop,nmea_delay,anomaly,fault
nmea:/dev/ttyAMA0,nmea,true,true,1,8,11,0.9,1.6,0.28,,
pps:/dev/pps0,pps,false,true,0,0,0,,,0,,"late, ""edge"""
)G");
  CHECK(run("gnss", Format::JSON) == R"G([{"receiver":"nmea:/dev/ttyAMA0","driver":"nmea","device_open":true,"locked":true,"fix":1,"satellites_used":8,"satellites_in_view":11,"hdop":0.9,"pdop":1.6,"nmea_delay":0.28,"anomaly":"","fault":"","satellites":[{"system":"GP","prn":5,"elevation":63,"azimuth":120,"snr":44},{"system":"GL","prn":71,"elevation":-2,"azimuth":300,"snr":0}]},
 {"receiver":"pps:/dev/pps0","driver":"pps","device_open":false,"locked":true,"fix":0,"satellites_used":0,"satellites_in_view":0,"hdop":null,"pdop":null,"nmea_delay":0,"anomaly":"","fault":"late, \"edge\"","satellites":[]}]
)G");
}

TEST_CASE("horlogectl satellites: golden text, CSV and JSON") {
  CHECK(run("satellites", Format::TEXT) == R"G(Receiver           System  PRN  Elevation  Azimuth  SNR
nmea:/dev/ttyAMA0  GP      5    63         120      44
nmea:/dev/ttyAMA0  GL      71   -2         300      0
)G");
  CHECK(run("satellites", Format::CSV) == R"G(receiver,system,prn,elevation,azimuth,snr
nmea:/dev/ttyAMA0,GP,5,63,120,44
nmea:/dev/ttyAMA0,GL,71,-2,300,0
)G");
  CHECK(run("satellites", Format::JSON) == R"G([{"receiver":"nmea:/dev/ttyAMA0","system":"GP","prn":5,"elevation":63,"azimuth":120,"snr":44},
 {"receiver":"nmea:/dev/ttyAMA0","system":"GL","prn":71,"elevation":-2,"azimuth":300,"snr":0}]
)G");
}

TEST_CASE("horlogectl daemons: golden text, CSV and JSON") {
  CHECK(run("daemons", Format::TEXT) == R"G(Daemon     State  PID   User             Capabilities  NoNewPrivs  Seccomp  Restarts  Started       Version
clockd     up     1200  _horloge-clockd  cap_sys_time  yes         filter   -         60.0 min ago  0.1.0
refclockd  up     1300  102              none          yes         filter   2         never         -
netd       up     0     0                none          no          off      0         never         -
)G");
  CHECK(run("daemons", Format::CSV) == R"G(daemon,up,pid,user,uid,capabilities,cap_eff,no_new_privs,seccomp,restarts,started,version
clockd,true,1200,_horloge-clockd,101,cap_sys_time,0000000002000000,true,filter,,3600,0.1.0
refclockd,true,1300,,102,none,0000000000000000,true,filter,2,,
netd,true,0,,0,none,0000000000000000,false,off,0,,
)G");
  CHECK(run("daemons", Format::JSON) == R"G([{"daemon":"clockd","up":true,"pid":1200,"user":"_horloge-clockd","uid":101,"capabilities":"cap_sys_time","cap_eff":"0000000002000000","no_new_privs":true,"seccomp":"filter","restarts":null,"started":3600,"version":"0.1.0"},
 {"daemon":"refclockd","up":true,"pid":1300,"user":"","uid":102,"capabilities":"none","cap_eff":"0000000000000000","no_new_privs":true,"seccomp":"filter","restarts":2,"started":null,"version":""},
 {"daemon":"netd","up":true,"pid":0,"user":"","uid":0,"capabilities":"none","cap_eff":"0000000000000000","no_new_privs":false,"seccomp":"off","restarts":0,"started":null,"version":""}]
)G");
}

TEST_CASE("horlogectl daemons: ntskd listed with NTS on, down when it is not attached") {
  capnp::MallocMessageBuilder m;
  auto status = m.initRoot<ipc::SystemStatus>();
  fill(status);
  auto& command = KJ_ASSERT_NONNULL(findCommand("daemons"));
  Lookup lookup{user};
  auto csv = [&]() { return render(command.views(status.asReader(), lookup), Format::CSV); };
  CHECK(std::string(csv().cStr()).find("ntskd") == std::string::npos);
  status.initNts().setEnabled(true);
  status.initNtskd().setRestarts(1);
  CHECK(std::string(csv().cStr()).find("\nntskd,false,,,,,,,,1,,\n") != std::string::npos);
}

TEST_CASE("horlogectl status -j: the whole status, snake_case keys, typed values") {
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<ipc::SystemStatus>());
  auto j = statusJson(m.getRoot<ipc::SystemStatus>().asReader());
  std::string s = j.cStr();
  for (auto needle: {"{\"generated_ns\":1700000000000000000,", "\"state\":\"locked\"",
                     "\"cap_eff\":33554432,", "\"no_new_privs\":true",
                     "\"refid\":\"50505300\"", "\"reference_time\":1699999999,",
                     "\"root_dispersion\":0.001007080078125,", "\"offset\":-2.5e-07,",
                     "\"hdop\":0.9,", "\"hdop\":null,", "\"requests_v4\":99990,",
                     "\"top_clients\":[{\"address\":\"192.0.2.7\",\"requests\":5000,",
                     "\"fault\":\"late, \\\"edge\\\"\"", "\"restarts\":2}",
                     "\"nmea_delay_ns\":280000000,", "\"source_kind\":\"pps\""}) {
    INFO(needle);
    CHECK(s.find(needle) != std::string::npos);
  }
  CHECK(s.find("NaN") == std::string::npos);
  CHECK(s.find("Ns\"") == std::string::npos);   // no camelCase key left
  CHECK(s.back() == '\n');
  CHECK(snakeCase("requestsV1") == "requests_v1");
  CHECK(snakeCase("nmeaDelayMeanNs") == "nmea_delay_mean_ns");
}

// docs/horlogectl.md is also horlogectl(1): it must name every command and every key a script
// may read, so that the manual cannot fall behind the program.
TEST_CASE("horlogectl(1) names every command and every -j/-c key") {
  std::ifstream f(std::string(HORLOGE_SOURCE_DIR) + "/docs/horlogectl.md");
  REQUIRE(f);
  std::string doc((std::istreambuf_iterator<char>(f)), {});
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<ipc::SystemStatus>());
  Lookup lookup{user};
  for (auto& c: commands()) {
    INFO(c.name.cStr());
    CHECK(doc.find("| `" + std::string(c.name.cStr()) + "`") != std::string::npos);
    for (auto& v: c.views(m.getRoot<ipc::SystemStatus>().asReader(), lookup)) {
      if (v.textOnly) continue;
      for (auto& col: v.columns) {
        if (col.shown == Column::TEXT_ONLY) continue;
        INFO(col.key.cStr());
        CHECK(doc.find("`" + std::string(col.key.cStr()) + "`") != std::string::npos);
      }
    }
  }
  for (auto extra: {"doctor", "firewall", "import FILE"}) {
    CHECK(doc.find("| `" + std::string(extra) + "`") != std::string::npos);
  }
}

// HORLOGE_PRINT=1 ctl-test -tc=print: prints every rendering, to review a layout change.
TEST_CASE("print" * doctest::skip(getenv("HORLOGE_PRINT") == nullptr)) {
  for (auto& c: commands()) {
    for (auto f: {Format::TEXT, Format::CSV, Format::JSON}) {
      auto t = run(c.name, f);
      printf("==== %s %d\n%s", c.name.cStr(), int(f), t.cStr());
    }
  }
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<ipc::SystemStatus>());
  printf("==== status -j\n%s", statusJson(m.getRoot<ipc::SystemStatus>().asReader()).cStr());
}

}  // namespace
}  // namespace horloge::ctl
