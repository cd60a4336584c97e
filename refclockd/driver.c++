#include "driver.h"
#include "ntp-time.h"
#include <kj/debug.h>

namespace horloge::refclock {

kj::Own<Driver> openSimDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx);
kj::Own<Driver> openNmeaDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx);
kj::Own<Driver> openPpsDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx);
kj::Own<Driver> openShmDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx);
kj::Own<Driver> openSockDriver(const RefclockConf& conf, uint8_t id, DriverContext& ctx);

kj::Own<Driver> openDriver(const RefclockConf& conf, uint8_t sourceId, DriverContext& ctx) {
  if (conf.driver == "sim") return openSimDriver(conf, sourceId, ctx);
  if (conf.driver == "nmea") return openNmeaDriver(conf, sourceId, ctx);
  if (conf.driver == "pps") return openPpsDriver(conf, sourceId, ctx);
  if (conf.driver == "shm") return openShmDriver(conf, sourceId, ctx);
  if (conf.driver == "sock") return openSockDriver(conf, sourceId, ctx);
  KJ_FAIL_REQUIRE("unknown refclock driver", conf.driver.c_str());
}

int64_t buildTimeNs() { return int64_t(HORLOGE_BUILD_EPOCH) * ntp::NS_PER_S; }

}  // namespace horloge::refclock
