// `refclock sim`: a GPS receiver made from the host clock. It writes NMEA into a pty so that
// the real serial reading path runs, and makes PPS edges with Gaussian jitter: the test double
// for an antenna and /dev/pps, which this machine cannot have. Faults are scheduled by config.
#include "sim.h"
#include "driver.h"
#include "integrity.h"
#include "nmea-reader.h"
#include "receiver.h"
#include "serial.h"
#include "log.h"
#include <kj/debug.h>
#include <kj/vector.h>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

namespace horloge::refclock {

namespace {
constexpr int64_t S = ntp::NS_PER_S;
}

kj::String simSentences(int64_t second, bool leapSecond) {
  time_t t = second;
  tm u;
  gmtime_r(&t, &u);
  if (leapSecond) u.tm_sec = 60;
  char hms[16], dmy[16], buf[128];
  strftime(hms, sizeof(hms), "%H%M%S.00", &u);
  strftime(dmy, sizeof(dmy), "%d%m%y", &u);
  kj::Vector<char> out;
  auto add = [&](const char* body) {
    out.addAll(kj::StringPtr(nmea::withChecksum(body)));
    out.addAll("\r\n"_kj);
  };
  snprintf(buf, sizeof(buf), "$GPRMC,%s,A,4851.0000,N,00221.0000,E,0.0,0.0,%s,,,A", hms, dmy);
  add(buf);
  snprintf(buf, sizeof(buf), "$GPGGA,%s,4851.0000,N,00221.0000,E,1,09,0.9,35.0,M,47.0,M,,", hms);
  add(buf);
  add("$GNGSA,A,3,02,05,12,15,18,24,25,29,,,,,1.6,0.9,1.3");
  add("$GPGSV,2,1,06,02,45,120,42,05,30,060,38,12,70,250,45,15,10,330,22");
  add("$GPGSV,2,2,06,18,25,190,35,24,05,020,");
  add("$GLGSV,1,1,03,65,40,100,33,66,55,200,40,72,15,300,");
  snprintf(buf, sizeof(buf), "$GNGNS,%s,4851.0000,N,00221.0000,E,AA,09,0.9,35.0,47.0,,", hms);
  add(buf);
  snprintf(buf, sizeof(buf), "$GPZDA,%s,%02d,%02d,%04d,00,00", hms, u.tm_mday, u.tm_mon + 1,
           u.tm_year + 1900);
  add(buf);
  return kj::heapString(out.begin(), out.size());
}

bool SimReceiver::active(SimFault::Kind kind, double elapsed) const {
  for (auto& f: conf.faults) {
    if (f.kind == kind && elapsed >= f.start && (f.duration == 0 || elapsed < f.start + f.duration))
      return true;
  }
  return false;
}

std::string SimReceiver::fromHost(std::string_view bytes) {
  std::string answer;
  for (char c: bytes) {
    if (hostFrames.push(static_cast<uint8_t>(c)) != ubx::Framer::FRAME) continue;
    auto& f = hostFrames.frame();
    if (f.cls != ubx::CLASS_CFG || !conf.ubx) continue;
    const std::string& p = f.payload;
    bool enables = false;
    if (f.id == ubx::ID_CFG_MSG && p.size() >= 3 && uint8_t(p[0]) == ubx::CLASS_NAV &&
        uint8_t(p[1]) == ubx::ID_NAV_TIMELS && p[2] != 0)
      enables = true;
    if (f.id == ubx::ID_CFG_VALSET) {
      // Version, layers, 2 reserved, then (key U4, value U1) for these keys.
      for (size_t i = 4; i + 5 <= p.size(); i += 5) {
        uint32_t key = uint8_t(p[i]) | uint8_t(p[i + 1]) << 8 | uint8_t(p[i + 2]) << 16 |
                       uint32_t(uint8_t(p[i + 3])) << 24;
        if (key == 0x20910660u && p[i + 4] != 0) enables = true;   // ..._TIMELS_UART1
      }
    }
    // An M8 knows CFG-MSG only; a refusing receiver takes neither.
    bool accepted = !conf.simUbxRefuse && f.id == ubx::ID_CFG_MSG;
    if (accepted && enables) timeLs = true;
    answer += ubx::ackFrame(accepted, f.cls, f.id);
    ++answered;
  }
  return answer;
}

kj::String SimReceiver::timeLsFrame(int64_t second) const {
  constexpr int64_t GPS_EPOCH = 315'964'800;   // 1980-01-06
  ubx::TimeLs t;
  bool after = conf.simLeap != 0 && second >= leapMidnight;
  t.currLs = SIM_GPS_UTC + (after ? conf.simLeap : 0);
  t.iTowMs = static_cast<uint32_t>(((second - GPS_EPOCH + t.currLs) % 604800) * 1000);
  t.srcOfCurrLs = 1;                       // GPS
  t.srcOfLsChange = 2;                     // GPS
  t.lsChange = conf.simLeap;
  int64_t event = conf.simLeap != 0 ? leapMidnight : SIM_LAST_LEAP;
  t.timeToLsEvent = static_cast<int32_t>(event - second);
  int64_t day = (event - 1 - GPS_EPOCH) / 86400;   // the day that ends with the event
  t.dateOfLsGpsWn = static_cast<uint16_t>(day / 7);
  t.dateOfLsGpsDn = static_cast<uint16_t>(day % 7 + 1);
  t.validCurrLs = t.validTimeToLsEvent = true;
  std::string f = ubx::frame(ubx::CLASS_NAV, ubx::ID_NAV_TIMELS, ubx::encodeTimeLs(t));
  return kj::heapString(f.data(), f.size());   // binary: NUL bytes included
}

SimSecond SimReceiver::at(int64_t hostSecond, double elapsed) {
  SimSecond out;
  int64_t second = hostSecond + shift;   // the GNSS's, as if it knew no leap
  if (conf.simLeap != 0 && leapMidnight == 0) {
    // The end of the month this second is in, unless a date was given.
    leapMidnight = conf.simLeapAt;
    if (leapMidnight == 0) {
      time_t t = second;
      tm u;
      gmtime_r(&t, &u);
      u.tm_mday = 1;
      u.tm_hour = u.tm_min = u.tm_sec = 0;
      u.tm_mon += 1;
      leapMidnight = timegm(&u);
    }
  }
  int64_t top = hostSecond * S;
  if (!active(SimFault::MISSING_PPS, elapsed))
    out.edgeNs = top + static_cast<int64_t>(edgeNoise(rng) * S);
  if (active(SimFault::MISSING_NMEA, elapsed)) return out;
  // The host clock knows no leap (it is never adjusted): from the leap on, the GNSS's UTC
  // names each of its seconds one less (insert: 23:59:60 first) or one more (delete: 23:59:59
  // never named).
  int64_t named = second;
  bool leapSecond = false;
  if (conf.simLeap > 0 && second >= leapMidnight) {
    named = second - 1;
    leapSecond = second == leapMidnight;
  } else if (conf.simLeap < 0 && second >= leapMidnight - 1) {
    named = second + 1;
  }
  if (active(SimFault::WRONG_SECOND, elapsed)) named += 1;
  if (active(SimFault::WEEK_ROLLOVER, elapsed)) named -= Integrity::WEEK_ROLLOVER_NS / S;
  double delay = active(SimFault::LATE_NMEA, elapsed) ? LATE_DELAY : conf.nmeaDelay;
  out.nmeaAtNs = top + static_cast<int64_t>(delay * S);
  kj::String garbage = kj::str("");
  if (active(SimFault::GARBAGE, elapsed)) {
    // Binary noise, a torn sentence, a bad checksum and an overlong line before the good ones.
    std::uniform_int_distribution<int> byte(0, 255);
    char noise[40];
    for (char& c: noise) c = static_cast<char>(byte(rng));
    garbage = kj::str(kj::ArrayPtr<const char>(noise, sizeof(noise)), "$GPRMC,12000",
                      "\r\n$GPZDA,120000.00,01,01,2020,00,00*00\r\n$GPGGA,", kj::repeat('9', 200),
                      "\r\n");
  }
  out.nmea = kj::str(garbage, simSentences(named, leapSecond),
                     timeLs ? timeLsFrame(second) : kj::str(""));
  return out;
}

namespace {

class SimDriver final: public Driver {
public:
  SimDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : id(id), timer(ctx.io.provider->getTimer()), receiverModel(conf),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) {
                   if (p.nmeaDelayNs > 0) ++paired;
                   (*sink)(this->id, p, errorNs(p));
                 }),
        stream([this](int64_t second, int64_t arrival) { onTime(second, arrival); }),
        jitterNs(static_cast<int64_t>(conf.jitter * S)), startNs(realtimeNs()),
        offsetS(conf.offset) {
    receiverModel.begin((startNs + S - 1) / S);   // the first second it sends
    if (conf.simStartAt != 0)
      log::info(kj::str("refclock sim: the simulated GNSS starts at ", conf.simStartAt,
                        " (Unix time), ", receiverModel.shiftSeconds(), " s from the host clock"));
    KJ_SYSCALL(master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    KJ_SYSCALL(grantpt(master));
    KJ_SYSCALL(unlockpt(master));
    KJ_SYSCALL(fcntl(master, F_SETFL, O_NONBLOCK));
    auto slave = openSerial(ptsname(master), 9600, conf.ubx);
    if (slave.fd < 0) KJ_FAIL_SYSCALL("opening the simulator's pty", slave.err);
    slaveFd = slave.fd;
    // As `refclock nmea DEVICE ubx` does: the simulated u-blox sends TIMELS once asked.
    if (conf.ubx) sendUbx(stream.timeLsRequest().start(realtimeNs()));
    in = ctx.io.lowLevelProvider->wrapInputFd(slave.fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  }
  ~SimDriver() noexcept(false) { close(master); }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return readNmea(*in, stream).exclusiveJoin(second());
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName("sim");
    out.setDriver("sim");
    out.setDeviceOpen(true);
    stream.fillStatus(out);
    receiver.fillStatus(out, realtimeNs(), true, true);
  }

private:
  uint8_t id;
  kj::Timer& timer;
  SimReceiver receiverModel;
  Receiver receiver;
  NmeaStream stream;
  int64_t jitterNs;
  int64_t startNs;
  double offsetS;
  SampleSink* sink = nullptr;
  int master = -1, slaveFd = -1;
  kj::Own<kj::AsyncInputStream> in;

  void sendUbx(const std::vector<std::string>& frames) {
    for (auto& f: frames) {
      if (int err = writeSerial(slaveFd, kj::arrayPtr(f.data(), f.size())))
        KJ_FAIL_SYSCALL("writing to the simulator's pty", err);
    }
  }

  // A receiver with its PPS line cut still sends NMEA: then, as `refclock nmea` alone, the
  // arrival of the second's first time sentence, dated by the delay measured while PPS was there.
  bool edgeThisSecond = false;
  int64_t lastNamed = 0;
  NmeaTiming timing{0, NMEA_UNKNOWN_DELAY_ERROR_NS};
  uint64_t paired = 0;
  ubx::TimeLsRequest::State lastRequestState = ubx::TimeLsRequest::State::IDLE;

  int64_t errorNs(const Paired& p) const {
    return p.nmeaOnly ? timing.errorNs : std::max<int64_t>(1, jitterNs);
  }

  void onTime(int64_t second, int64_t arrivalNs) {
    receiver.onTime(second, arrivalNs);
    if (receiverModel.ubx()) {
      auto& r = stream.timeLsRequest();
      sendUbx(r.poll(arrivalNs));
      if (r.state() != lastRequestState) {
        lastRequestState = r.state();
        if (r.state() != ubx::TimeLsRequest::State::WAITING)
          log::info(kj::str("refclock sim: ", r.describe().c_str()));
      }
    }
    if (second == lastNamed) return;
    lastNamed = second;
    if (edgeThisSecond) return;
    timing = nmeaTiming(0, receiver.pairs().meanDelayNs(), paired);
    int64_t offsetNs = static_cast<int64_t>(offsetS * S);
    receiver.onSample(Paired{arrivalNs, second * S + offsetNs + timing.delayNs, 0, false, true},
                      arrivalNs);
  }

  kj::Promise<void> sleepUntil(int64_t realNs) {
    int64_t d = realNs - realtimeNs();
    return timer.afterDelay(std::max<int64_t>(0, d) * kj::NANOSECONDS);
  }

  // Each second: the PPS edge at the top of the second, then its sentences.
  kj::Promise<void> second() {
    int64_t next = (realtimeNs() / S + 1) * S;
    return sleepUntil(next).then([this, next]() {
      char host[512];
      ssize_t got;
      std::string answer;
      while ((got = read(master, host, sizeof(host))) > 0)
        answer += receiverModel.fromHost(std::string_view(host, static_cast<size_t>(got)));
      // The receiver's ACKs go out now, before this second's edge and sentences.
      if (!answer.empty() && write(master, answer.data(), answer.size()) < 0 && errno != EAGAIN)
        KJ_FAIL_SYSCALL("write(pty)", errno);
      auto plan = receiverModel.at(next / S, (next - startNs) / 1e9);
      edgeThisSecond = plan.edgeNs != nullptr;
      KJ_IF_MAYBE(edge, plan.edgeNs) receiver.onEdge(*edge, realtimeNs());
      if (plan.nmea.size() == 0) return kj::Promise<void>(kj::READY_NOW);
      return sleepUntil(plan.nmeaAtNs).then([this, text = kj::mv(plan.nmea)]() {
        // A full pty buffer means nobody reads; losing a second of NMEA is then harmless.
        if (write(master, text.begin(), text.size()) < 0 && errno != EAGAIN)
          KJ_FAIL_SYSCALL("write(pty)", errno);
      });
    }).then([this]() { return second(); });
  }
};

}  // namespace

kj::Own<Driver> openSimDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<SimDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
