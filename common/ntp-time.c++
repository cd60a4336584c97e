#include "ntp-time.h"
#include <cmath>

namespace horloge::ntp {

int64_t toUnixNs(Timestamp t, int64_t pivotNs) {
  // Move from the pivot's second by the signed 32-bit distance in seconds: the nearest era.
  int64_t pivotSec = toTimespec(pivotNs).tv_sec;
  uint32_t pivotNtpSec = static_cast<uint32_t>(pivotSec + UNIX_TO_NTP);
  int32_t dsec = static_cast<int32_t>(static_cast<uint32_t>(t >> 32) - pivotNtpSec);
  int64_t fracNs = static_cast<int64_t>(((t & 0xffffffffu) * NS_PER_S + 0x80000000u) >> 32);
  return (pivotSec + dsec) * NS_PER_S + fracNs;
}

Short shortFromSeconds(double s) {
  if (!(s > 0)) return 0;
  double v = std::ceil(s * 65536.0);   // round up: dispersion is never understated
  if (v >= 4294967295.0) return 0xffffffffu;
  return static_cast<Short>(v);
}

double secondsFromShort(Short s) { return s / 65536.0; }

int8_t precisionFromNs(int64_t resolutionNs) {
  if (resolutionNs < 1) resolutionNs = 1;
  return static_cast<int8_t>(std::floor(std::log2(static_cast<double>(resolutionNs) * 1e-9)));
}

}  // namespace horloge::ntp
