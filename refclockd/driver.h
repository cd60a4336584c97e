// A reference clock driver, behind three functions as in chrony:
//   open  - a factory that runs before lockdown, when devices can still be opened;
//   run   - produce samples for the sink until the driver fails;
//   status- report what the receiver is doing.
#pragma once
#include "config.h"
#include "pairing.h"
#include <horloge.capnp.h>
#include <kj/async-io.h>
#include <kj/function.h>

namespace horloge::refclock {

using SampleSink = kj::Function<void(uint8_t sourceId, const Paired& sample, int64_t errorNs)>;

class Driver {
public:
  virtual ~Driver() noexcept(false) = default;
  virtual kj::Promise<void> run(SampleSink& sink) = 0;
  virtual void status(ipc::RefclockStatus::Builder out) = 0;
};

kj::Own<Driver> openDriver(const RefclockConf& conf, uint8_t sourceId, kj::AsyncIoContext& io);

}  // namespace horloge::refclock
