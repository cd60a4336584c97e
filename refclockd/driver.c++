#include "driver.h"
#include <kj/debug.h>

namespace horloge::refclock {

kj::Own<Driver> openSimDriver(const RefclockConf& conf, uint8_t sourceId, kj::AsyncIoContext& io);

kj::Own<Driver> openDriver(const RefclockConf& conf, uint8_t sourceId, kj::AsyncIoContext& io) {
  if (conf.driver == "sim") return openSimDriver(conf, sourceId, io);
  KJ_FAIL_REQUIRE("unknown refclock driver", conf.driver.c_str());
}

}  // namespace horloge::refclock
