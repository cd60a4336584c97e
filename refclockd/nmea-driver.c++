// `refclock nmea DEVICE [baud N] [offset S] [ubx]`: a receiver's NMEA on a serial line (UART,
// USB, pty). With `ubx` the receiver is asked for UBX-NAV-TIMELS each time the device is opened
// (the setting is in its RAM only, and a receiver unplugged forgets it), and the UBX frames in
// the stream are read beside the NMEA (nmea-reader.h). Alone it gives the time of each sentence's arrival, dated by the receiver's output
// delay (`offset`, or as a `refclock pps` measured it: see nmeaTiming()); its seconds also
// number the edges of any `refclock pps` in the same file. A device that is missing at start, or
// goes away (a USB receiver unplugged), is a state: it is opened again with back-off (0.5 s
// doubling to 30 s), and the status says what is wrong in words (device-problem.h).
#include "driver.h"
#include "device-problem.h"
#include "nmea-reader.h"
#include "receiver.h"
#include "serial.h"
#include "ubx.h"
#include "log.h"
#include <kj/debug.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace horloge::refclock {

namespace {

constexpr int64_t S = ntp::NS_PER_S;

class NmeaDriver final: public Driver {
public:
  static constexpr int64_t MIN_BACKOFF_NS = 500'000'000, MAX_BACKOFF_NS = 30 * S;

  NmeaDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx)
      : conf(conf), id(id), ctx(ctx),
        receiver(static_cast<int64_t>(conf.offset * S), ctx.hint, ctx.buildNs, ctx.store,
                 [this](const Paired& p) { (*sink)(this->id, p, timing.errorNs); }),
        stream([this](int64_t second, int64_t arrival) { onTime(second, arrival); }) {
    ++ctx.nmeaDrivers;
    // Opened now, while we may; a missing device is retried after lockdown.
    tryOpen();
  }

  kj::Promise<void> run(SampleSink& s) override {
    sink = &s;
    return loop();
  }

  void status(ipc::RefclockStatus::Builder out) override {
    out.setSourceId(id);
    out.setName(kj::str("nmea:", conf.device));
    out.setDriver("nmea");
    out.setDeviceOpen(in.get() != nullptr);
    out.setReopens(reopens);
    stream.fillStatus(out);
    int64_t now = realtimeNs();
    kj::String fault = kj::str(deviceError);
    if (fault.size() > 0 && retryAtNs > now) fault = kj::str(fault, retrying(retryAtNs - now));
    auto& fig = stream.figures();
    int64_t lastTime = std::max(fig.lastTimeNs, openedNs);
    if (fault.size() == 0 && in.get() != nullptr && now - lastTime > Receiver::SILENCE_NS) {
      fault = silentSerial(conf.device, (now - lastTime) / S, fig.sentences - sentencesAtOpen,
                           fig.bad - badAtOpen, conf.baud);
    }
    receiver.fillStatus(out, now, false, true, fault);
  }

private:
  RefclockConf conf;
  uint8_t id;
  DriverContext& ctx;
  Receiver receiver;
  NmeaStream stream;
  SampleSink* sink = nullptr;
  kj::Own<kj::AsyncInputStream> in;
  kj::String deviceError = kj::str("");
  int64_t backoffNs = MIN_BACKOFF_NS;
  int64_t retryAtNs = 0;
  int64_t openedNs = 0;                 // silence is counted from the opening
  uint64_t sentencesAtOpen = 0, badAtOpen = 0;
  int64_t lastSecond = 0, lastArrivalNs = 0;
  uint64_t reopens = 0;
  int lineFd = -1;                      // `in`'s descriptor, for the UBX requests
  ubx::TimeLsRequest::State lastRequestState = ubx::TimeLsRequest::State::IDLE;

  void sendUbx(const std::vector<std::string>& frames) {
    for (auto& f: frames) {
      if (int err = writeSerial(lineFd, kj::arrayPtr(f.data(), f.size()))) {
        // Still a receiver of NMEA: say why its leap information may never come.
        log::warn(kj::str("refclock nmea ", conf.device.c_str(),
                          ": cannot ask the receiver for UBX-NAV-TIMELS: ", strerror(err)));
        break;
      }
    }
  }

  // Says once what became of the request (an operator learns here that the receiver gives no
  // leap second information).
  void noteRequest() {
    auto& r = stream.timeLsRequest();
    if (r.state() == lastRequestState) return;
    lastRequestState = r.state();
    using State = ubx::TimeLsRequest::State;
    auto text = kj::str("refclock nmea ", conf.device.c_str(), ": ", r.describe().c_str());
    if (r.state() == State::REFUSED || r.state() == State::UNANSWERED) log::warn(text);
    else if (r.state() == State::ACCEPTED) log::info(text);
  }
  NmeaTiming timing{0, NMEA_UNKNOWN_DELAY_ERROR_NS};

  void setProblem(kj::String text) {
    if (text != deviceError) log::warn(kj::str("refclock nmea: ", text));
    deviceError = kj::mv(text);
    retryAtNs = realtimeNs() + backoffNs;
  }

  void tryOpen() {
    auto dev = kj::StringPtr(conf.device.c_str());
    auto line = openSerial(conf.device, conf.baud, conf.ubx);
    if (line.fd < 0) {
      setProblem(line.notSerial
                     ? wrongDevice(DeviceKind::SERIAL, dev, "is not a serial port (termios refused)")
                     : openProblem(DeviceKind::SERIAL, dev, line.err));
      return;
    }
    lineFd = line.fd;
    if (conf.ubx) sendUbx(stream.timeLsRequest().start(realtimeNs()));
    in = ctx.io.lowLevelProvider->wrapInputFd(line.fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    if (deviceError.size() > 0 || reopens > 0) log::info(kj::str("refclock nmea: ", dev, " is open"));
    deviceError = kj::str("");
    backoffNs = MIN_BACKOFF_NS;
    openedNs = realtimeNs();
    sentencesAtOpen = stream.figures().sentences;
    badAtOpen = stream.figures().bad;
  }

  // The first time sentence of each second: NMEA alone, and the second for PPS drivers.
  void onTime(int64_t second, int64_t arrivalNs) {
    ctx.publishTime(second, arrivalNs);
    receiver.onTime(second, arrivalNs);   // no edges here: only notes that NMEA is alive
    if (conf.ubx && in.get() != nullptr) {
      sendUbx(stream.timeLsRequest().poll(arrivalNs));
      noteRequest();
    }
    if (second == lastSecond) return;
    lastSecond = second;
    // Two seconds' sentences in one read (a stalled line or loop): the older one's arrival
    // time says nothing about its second, and would look like a one-second step.
    bool batched = arrivalNs - lastArrivalNs < S / 2;
    lastArrivalNs = arrivalNs;
    if (batched) return;
    timing = nmeaTiming(static_cast<int64_t>(conf.offset * S), ctx.measuredNmeaDelayNs,
                        ctx.measuredNmeaDelays);
    receiver.onSample(Paired{arrivalNs, second * S + timing.delayNs, 0, false, true}, arrivalNs);
  }

  kj::Promise<void> loop() {
    if (in.get() == nullptr) {
      auto wait = backoffNs;
      retryAtNs = realtimeNs() + wait;
      return ctx.io.provider->getTimer().afterDelay(wait * kj::NANOSECONDS).then([this]() {
        ++reopens;
        backoffNs = std::min(backoffNs * 2, MAX_BACKOFF_NS);
        tryOpen();
        return loop();
      });
    }
    return readNmea(*in, stream).then([]() {}, [this](kj::Exception&& e) {
      // EOF or EIO: the device went away (or the pty's other side closed).
      bool eof = e.getType() == kj::Exception::Type::DISCONNECTED;
      setProblem(lostProblem(DeviceKind::SERIAL, conf.device.c_str(), eof ? 0 : EIO));
      in = nullptr;
      lineFd = -1;
    }).then([this]() { return loop(); });
  }
};

}  // namespace

kj::Own<Driver> openNmeaDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<NmeaDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
