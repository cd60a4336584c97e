// A reference clock driver, behind three functions as in chrony:
//   open  - a factory that runs before lockdown, when devices can still be opened;
//   run   - produce samples for the sink until the driver fails;
//   status- report what the receiver is doing.
// Drivers: sim.c++, nmea-driver.c++ (serial NMEA), pps-driver.c++ (RFC 2783), shm.c++ (ntpd
// driver 28 segment, as gpsd writes it), sock.c++ (chrony SOCK datagrams, as gpsd sends them).
#pragma once
#include "config.h"
#include "integrity.h"
#include "pairing.h"
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>
#include <kj/vector.h>

namespace horloge::refclock {

using SampleSink = kj::Function<void(uint8_t sourceId, const Paired& sample, int64_t errorNs)>;

// What all drivers of one refclockd share; owned by main(), outlives the drivers.
struct DriverContext {
  kj::AsyncIoContext& io;
  const ClockHint& hint;            // clockd's last answer, updated by the daemon
  int64_t buildNs;                  // no GNSS time may be earlier
  LastGoodStore* store = nullptr;   // the persisted last-good time, or none
  // Each NMEA time sentence that `refclock nmea` drivers read: (UTC second, arrival). The
  // `refclock pps` drivers listen here to number their edges.
  kj::Vector<kj::Function<void(int64_t, int64_t)>> nmeaTimes;
  int nmeaDrivers = 0;
  // The NMEA sentence's delay after the PPS edge as the `refclock pps` drivers measured it
  // (their running mean, over this many pairings): NMEA alone uses it when `offset` is not set.
  int64_t measuredNmeaDelayNs = 0;
  uint64_t measuredNmeaDelays = 0;
  // Datagram sockets handed over (LISTEN_FDS named "refclock-sock": horloge-launch, or a systemd
  // .socket unit with ListenDatagram=): a `refclock sock PATH` driver adopts the one bound to
  // PATH instead of binding its own. Entries it took are set to -1.
  kj::Vector<int> handedSockets;
  void publishTime(int64_t second, int64_t arrivalNs) {
    for (auto& f: nmeaTimes) f(second, arrivalNs);
  }
};

class Driver {
public:
  virtual ~Driver() noexcept(false) = default;
  virtual kj::Promise<void> run(SampleSink& sink) = 0;
  virtual void status(ipc::RefclockStatus::Builder out) = 0;
};

kj::Own<Driver> openDriver(const RefclockConf& conf, uint8_t sourceId, DriverContext& ctx);

// The build date as Unix nanoseconds (SOURCE_DATE_EPOCH or configure time).
int64_t buildTimeNs();

}  // namespace horloge::refclock
