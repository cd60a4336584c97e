// `refclock nmea DEVICE [baud N] [offset S] [ubx]`: a receiver's NMEA on a serial line (UART,
// USB, pty). With `ubx` the receiver is asked for UBX-NAV-TIMELS each time the device is opened
// (the setting is in its RAM only, and a receiver unplugged forgets it), and the UBX frames in
// the stream are read beside the NMEA (nmea-reader.h). Alone it gives the time of each sentence's arrival, dated by the receiver's output
// delay (`offset`, or as a `refclock pps` measured it: see nmeaTiming()); its seconds also
// number the edges of any `refclock pps` in the same file. When the device goes away (a USB receiver unplugged) it is
// reopened with back-off.
#include "driver.h"
#include "nmea-reader.h"
#include "receiver.h"
#include "serial.h"
#include "ubx.h"
#include "log.h"
#include <kj/debug.h>

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
    out.setName(kj::str("nmea:", conf.device.c_str()));
    out.setDriver("nmea");
    out.setDeviceOpen(in.get() != nullptr);
    out.setReopens(reopens);
    stream.fillStatus(out);
    receiver.fillStatus(out, realtimeNs(), false, true, deviceError);
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
  int64_t lastSecond = 0, lastArrivalNs = 0;
  uint64_t reopens = 0;
  NmeaTiming timing{0, NMEA_UNKNOWN_DELAY_ERROR_NS};

  void tryOpen() {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      int fd = openSerial(conf.device, conf.baud, conf.ubx);
      if (conf.ubx) {
        KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
          for (auto& f: ubx::enableTimeLs()) writeSerial(fd, f);
        })) {
          // Still a receiver of NMEA: say why its leap information may never come.
          log::warn(kj::str("refclock nmea ", conf.device.c_str(),
                            ": cannot ask the receiver for UBX-NAV-TIMELS: ", e->getDescription()));
        }
      }
      in = ctx.io.lowLevelProvider->wrapInputFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    })) {
      deviceError = kj::str("device: ", e->getDescription());
    } else {
      deviceError = kj::str("");
      backoffNs = MIN_BACKOFF_NS;
    }
  }

  // The first time sentence of each second: NMEA alone, and the second for PPS drivers.
  void onTime(int64_t second, int64_t arrivalNs) {
    ctx.publishTime(second, arrivalNs);
    receiver.onTime(second, arrivalNs);   // no edges here: only notes that NMEA is alive
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
      backoffNs = std::min(backoffNs * 2, MAX_BACKOFF_NS);
      return ctx.io.provider->getTimer().afterDelay(wait * kj::NANOSECONDS).then([this]() {
        ++reopens;
        tryOpen();
        return loop();
      });
    }
    return readNmea(*in, stream).then([]() {}, [this](kj::Exception&& e) {
      // EOF or EIO: the device went away (or the pty's other side closed).
      log::warn(kj::str("refclock nmea ", conf.device.c_str(), ": ", e.getDescription(),
                        "; reopening"));
      deviceError = kj::str("device lost: ", e.getDescription());
      in = nullptr;
    }).then([this]() { return loop(); });
  }
};

}  // namespace

kj::Own<Driver> openNmeaDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx) {
  return kj::heap<NmeaDriver>(conf, id, ctx);
}

}  // namespace horloge::refclock
