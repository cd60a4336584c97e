// Every simulator fault, on virtual time: what the simulated receiver emits goes through the
// same NMEA stream, pairing and integrity gate as in the driver, and each fault must show in
// the status and in the flow of samples as specified in issue 4.
#include "sim.h"
#include "nmea-reader.h"
#include "receiver.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <cmath>
#include <string>
#include <vector>

using namespace horloge;
using namespace horloge::refclock;
constexpr int64_t S = ntp::NS_PER_S;
constexpr int64_t T0 = 1'780'000'000;   // seconds, 2026
constexpr int64_t BUILD = 1'770'000'000 * S;

namespace {

struct Window {
  int samples = 0, ppsOnly = 0;
  std::string fault, anomaly;
  uint64_t bad = 0, refused = 0;
};

// Runs the simulated receiver for `seconds` seconds, reporting per-second samples and the
// status at chosen instants.
class Bench {
public:
  explicit Bench(RefclockConf conf)
      : model(conf, 42),
        receiver(0, hint, BUILD, nullptr, [this](const Paired& p) {
          ++now.samples;
          now.ppsOnly += p.ppsOnly;
          lastSample = p;
        }),
        stream([this](int64_t s, int64_t at) { receiver.onTime(s, at); }) {}

  ClockHint hint;
  bool clockdSynced = false;
  Paired lastSample{};

  // Seconds [from, to) of simulated time; returns what happened and the status at the end.
  Window run(int from, int to) {
    now = Window{};
    for (int k = from; k < to; ++k) {
      int64_t second = T0 + k;
      if (clockdSynced) hint = ClockHint{true, 0, second * S};
      auto plan = model.at(second, k);
      KJ_IF_MAYBE(edge, plan.edgeNs) receiver.onEdge(*edge, second * S);
      if (plan.nmea.size() > 0) stream.feed(plan.nmea.asArray(), plan.nmeaAtNs);
    }
    capnp::MallocMessageBuilder m;
    auto st = m.initRoot<ipc::RefclockStatus>();
    stream.fillStatus(st);
    receiver.fillStatus(st, (T0 + to - 1) * S + 950'000'000, true, true);
    now.fault = st.getFault().cStr();
    now.anomaly = st.getAnomaly().cStr();
    now.bad = st.getNmeaBad();
    now.refused = st.getRefusedPairings();
    status = kj::heap<capnp::MallocMessageBuilder>();
    status->setRoot(st.asReader());
    return now;
  }
  ipc::RefclockStatus::Reader lastStatus() { return status->getRoot<ipc::RefclockStatus>(); }

private:
  SimReceiver model;
  Receiver receiver;
  NmeaStream stream;
  Window now;
  kj::Own<capnp::MallocMessageBuilder> status;
};

RefclockConf withFault(SimFault::Kind kind, double start, double duration) {
  RefclockConf c;
  c.driver = "sim";
  c.jitter = 1e-6;
  c.faults.push_back({kind, start, duration});
  return c;
}

}  // namespace

TEST_CASE("sim: healthy receiver, one sample a second, figures for the status") {
  RefclockConf c;
  c.driver = "sim";
  c.nmeaDelay = 0.28;
  Bench b(c);
  auto w = b.run(0, 20);
  CHECK(w.samples == 20);
  CHECK(w.fault == "");
  auto st = b.lastStatus();
  CHECK(st.getLocked());
  CHECK(std::llabs(st.getNmeaDelayMeanNs() - 280'000'000) < 1'000'000);
  CHECK(st.getFixQuality() == 1);
  CHECK(st.getSatellitesUsed() == 9);
  CHECK(st.getSatellitesInView() == 9);          // 6 GPS + 3 GLONASS
  CHECK(st.getSatellites().size() == 9);
  int snr42 = 0;
  for (auto sat: st.getSatellites()) snr42 += sat.getSnr() == 42 && sat.getSystem() == "GP";
  CHECK(snr42 == 1);
  CHECK(st.getHdop() == doctest::Approx(0.9));
  CHECK(st.getPdop() == doctest::Approx(1.6));
  CHECK(st.getLatitude() == doctest::Approx(48.85));
  CHECK(st.getLongitude() == doctest::Approx(2.35));
  CHECK(st.getAltitude() == doctest::Approx(35.0));
  CHECK(b.lastSample.referenceTimeNs == (T0 + 19) * S);
}

TEST_CASE("sim fault: missing PPS stops samples, says so, and recovers") {
  Bench b(withFault(SimFault::MISSING_PPS, 10, 5));
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 15);
  CHECK(w.samples == 0);
  CHECK(w.fault == "no PPS");
  CHECK_FALSE(b.lastStatus().getLocked());
  CHECK(b.lastStatus().getNmeaSentences() > 0);  // NMEA still flows
  w = b.run(15, 20);
  CHECK(w.samples == 5);                         // the first edge back pairs too (15..19)
  CHECK(w.fault == "");
}

TEST_CASE("sim fault: missing NMEA: no samples unless clockd's clock is within 0.4 s") {
  Bench b(withFault(SimFault::MISSING_NMEA, 10, 10));
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 14);
  CHECK(w.samples == 0);
  CHECK(w.fault == "no NMEA time");
  b.clockdSynced = true;
  w = b.run(14, 20);
  CHECK(w.samples >= 5);
  CHECK(w.ppsOnly == w.samples);
  CHECK(b.lastStatus().getPpsOnlySamples() >= 5);
  b.clockdSynced = false;
  w = b.run(20, 25);
  CHECK(w.samples >= 4);
  CHECK(w.ppsOnly <= 1);
}

TEST_CASE("sim fault: a wrong second is flagged, nothing is fed, then it recovers") {
  Bench b(withFault(SimFault::WRONG_SECOND, 10, 5));
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 15);
  CHECK(w.samples == 0);
  CHECK(w.anomaly == "time step (1 s)");
  CHECK(w.fault == "GNSS integrity: time step (1 s)");
  CHECK(b.lastStatus().getAnomalies() == 1);
  w = b.run(15, 40);   // the step back, then RECOVER_SAMPLES consistent seconds
  CHECK(w.anomaly == "");
  CHECK(w.samples == 25 - Integrity::RECOVER_SAMPLES);
}

TEST_CASE("sim fault: a wrong second while clockd is synced") {
  Bench b(withFault(SimFault::WRONG_SECOND, 10, 0));
  b.clockdSynced = true;
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 40);
  CHECK(w.samples == 0);
  CHECK(w.anomaly == "wrong second (1 s from the system clock)");
}

TEST_CASE("sim fault: week rollover is refused for as long as it lasts") {
  Bench b(withFault(SimFault::WEEK_ROLLOVER, 10, 30));
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 40);
  CHECK(w.samples == 0);
  CHECK(w.anomaly == "week rollover (-1024 weeks)");
  CHECK(b.lastStatus().getLastGoodNs() == (T0 + 9) * S);
  w = b.run(40, 60);
  CHECK(w.anomaly == "");
  CHECK(w.samples == 20 - Integrity::RECOVER_SAMPLES);
}

TEST_CASE("sim fault: garbage bytes are counted and lose no second") {
  Bench b(withFault(SimFault::GARBAGE, 0, 0));
  auto w = b.run(0, 20);
  CHECK(w.samples == 20);
  CHECK(w.bad >= 20 * 2);          // the bad checksum and the overlong line each second
  CHECK(w.anomaly == "");
}

TEST_CASE("sim fault: late NMEA near the half-second is not paired") {
  Bench b(withFault(SimFault::LATE_NMEA, 10, 5));
  CHECK(b.run(0, 10).samples == 10);
  auto w = b.run(10, 15);
  CHECK(w.samples == 0);
  CHECK(w.refused == 5);
  CHECK(w.fault == "NMEA delay near the half-second: pairing refused");
  CHECK(b.lastStatus().getNmeaDelayNs() == doctest::Approx(550'000'000).epsilon(0.001));
  w = b.run(15, 20);
  CHECK(w.samples == 5);
  CHECK(w.fault == "");
}

TEST_CASE("sim: a u-blox announcing a leap second, asked for TIMELS, sends 23:59:60") {
  constexpr int64_t JAN1 = 1'798'761'600;   // 2027-01-01 00:00:00 UTC
  RefclockConf c;
  c.driver = "sim";
  c.ubx = true;
  c.simLeap = 1;                            // `leap insert`: the end of the start month
  SimReceiver model(c, 7);
  // The second each simulated second's first time sentence names.
  std::vector<int64_t> named;
  bool first = true;
  NmeaStream stream([&](int64_t s, int64_t) {
    if (first) named.push_back(s);
    first = false;
  });
  auto run = [&](int64_t from, int64_t to) {
    for (int64_t s = from; s < to; ++s) {
      auto plan = model.at(s, static_cast<double>(s - from));
      first = true;
      stream.feed(plan.nmea.asArray(), plan.nmeaAtNs);
    }
  };
  // Not asked: NMEA only, as a u-blox out of the box.
  run(JAN1 - 10, JAN1 - 8);
  CHECK(model.leapAt() == JAN1);
  CHECK_FALSE(stream.figures().leap);
  // Asked as refclockd asks (CFG-MSG and CFG-VALSET).
  std::string answers;
  for (auto& f: ubx::enableTimeLs()) answers += model.fromHost(f);
  CHECK(model.sendsTimeLs());
  // As an M8: CFG-MSG acknowledged, CFG-VALSET (M9 and later) refused.
  stream.feed(kj::arrayPtr(answers.data(), answers.size()), 0);
  CHECK(stream.timeLsRequest().acks() == 1);
  CHECK(stream.timeLsRequest().naks() == 1);
  named.clear();
  run(JAN1 - 3, JAN1 + 3);
  // 23:59:57, :58, :59, :60 (numbered as :59 repeated), 00:00:00, :01.
  CHECK(named == std::vector<int64_t>{JAN1 - 3, JAN1 - 2, JAN1 - 1, JAN1 - 1, JAN1, JAN1 + 1});
  auto leapSecond = model.at(JAN1, 0).nmea;
  std::string bytes(leapSecond.begin(), leapSecond.size());
  CHECK(bytes.find("$GPZDA,235960.00,31,12,2026") != std::string::npos);
  CHECK(bytes.find("$GPRMC,235960.00,A") != std::string::npos);
  REQUIRE(stream.figures().leap);
  auto& l = *stream.figures().leap;
  CHECK(l.currentValid);
  CHECK(l.taiMinusUtc == 38);               // after the leap
  CHECK(l.change == 1);
  CHECK(l.atUnix == JAN1);                  // the last event, just past
  CHECK(stream.figures().ubxBad == 0);
  CHECK(stream.figures().bad == 0);
  // Before it, the announcement, dated from any second of the month.
  SimReceiver early(c, 7);
  for (auto& f: ubx::enableTimeLs()) early.fromHost(f);
  NmeaStream s2([](int64_t, int64_t) {});
  for (int64_t s = JAN1 - 20 * 86400; s < JAN1 - 20 * 86400 + 2; ++s) {
    auto plan = early.at(s, 0);
    s2.feed(plan.nmea.asArray(), plan.nmeaAtNs);
  }
  REQUIRE(s2.figures().leap);
  CHECK(s2.figures().leap->taiMinusUtc == 37);
  CHECK(s2.figures().leap->atUnix == JAN1);
}

TEST_CASE("sim: a leap second deleted skips 23:59:59") {
  constexpr int64_t JUL1 = 1'814'400'000;   // 2027-07-01 00:00:00 UTC
  RefclockConf c;
  c.driver = "sim";
  c.ubx = true;
  c.simLeap = -1;
  c.simLeapAt = JUL1;
  SimReceiver model(c, 7);
  std::vector<int64_t> named;
  NmeaStream stream([&](int64_t s, int64_t) {
    if (named.empty() || named.back() != s) named.push_back(s);
  });
  for (int64_t s = JUL1 - 3; s < JUL1 + 1; ++s) {
    auto plan = model.at(s, 0);
    stream.feed(plan.nmea.asArray(), plan.nmeaAtNs);
  }
  CHECK(named == std::vector<int64_t>{JUL1 - 3, JUL1 - 2, JUL1, JUL1 + 1});
}

TEST_CASE("sim: `start` runs the GNSS's UTC from a given date, the edges on the host's seconds") {
  constexpr int64_t JUL1 = 1'814'400'000;   // 2027-07-01 00:00:00 UTC, a leap inserted
  constexpr int64_t HOST = 1'796'515'200;   // the host's clock: 2026-12-06
  RefclockConf c;
  c.driver = "sim";
  c.ubx = true;
  c.simLeap = 1;
  c.simStartAt = JUL1 - 90;                 // `start 2027-06-30T23:58:30Z`
  SimReceiver model(c, 3);
  model.begin(HOST);
  CHECK(model.shiftSeconds() == JUL1 - 90 - HOST);
  std::string answers;
  for (auto& f: ubx::enableTimeLs()) answers += model.fromHost(f);
  std::vector<int64_t> named;
  bool first = true;
  NmeaStream stream([&](int64_t s, int64_t) {
    if (first) named.push_back(s);
    first = false;
  });
  for (int64_t s = HOST + 87; s < HOST + 92; ++s) {
    auto plan = model.at(s, static_cast<double>(s - HOST));
    int64_t edge = 0;
    KJ_IF_MAYBE(e, plan.edgeNs) edge = *e;
    CHECK(std::llabs(edge - s * S) < S / 1000);   // the host's second, jittered
    first = true;
    stream.feed(plan.nmea.asArray(), plan.nmeaAtNs);
  }
  CHECK(model.leapAt() == JUL1);            // the end of the month the GNSS starts in
  // 23:59:57, :58, :59, :60 (numbered as :59 repeated), 00:00:00.
  CHECK(named == std::vector<int64_t>{JUL1 - 3, JUL1 - 2, JUL1 - 1, JUL1 - 1, JUL1});
  REQUIRE(stream.figures().leap);
  CHECK(stream.figures().leap->atUnix == JUL1);
}
