// The NTP shared-memory segment of ntpd's driver 28, as gpsd writes it: refclockd's `refclock
// shm` reads it (shm.c++), and so does the clknetsim harness (bench/clknetsim-harness.c++).
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace horloge::refclock {

constexpr key_t SHM_KEY_BASE = 0x4e545030;   // "NTP0": unit N is at SHM_KEY_BASE + N

// ntpd's `struct shmTime`, laid out with its writer's time_t: 64-bit on amd64 and arm64
// (96 bytes); 32-bit from a gpsd built for a 32-bit system such as Debian 12 armhf (80 bytes),
// while refclockd itself always has a 64-bit time_t (CMakeLists.txt). The segment's size tells
// which layout its writer uses.
template <typename Seconds>
struct ShmTimeOf {
  int32_t mode;                // 1: writer bumps `count` around each update (gpsd does)
  volatile int32_t count;
  Seconds clockTimeStampSec;   // the reference (GNSS) time
  int32_t clockTimeStampUSec;
  Seconds receiveTimeStampSec; // the system time it was taken
  int32_t receiveTimeStampUSec;
  int32_t leap;
  int32_t precision;           // log2 seconds
  int32_t nsamples;
  volatile int32_t valid;
  uint32_t clockTimeStampNSec;
  uint32_t receiveTimeStampNSec;
  int32_t dummy[8];
};
using ShmTime64 = ShmTimeOf<int64_t>;
using ShmTime32 = ShmTimeOf<int32_t>;
static_assert(sizeof(ShmTime64) == 96 && sizeof(ShmTime32) == 80, "ntpd's shmTime layouts");

// A stamp's nanoseconds within its second: `nsec` when it agrees with `usec` (a writer that
// knows only microseconds leaves `nsec` stale), else `usec`, as ntpd reads them.
inline int64_t shmSubsecondNs(int32_t usec, uint32_t nsec) {
  bool nsOk = nsec >= unsigned(usec) * 1000u && nsec < unsigned(usec) * 1000u + 1000u;
  return nsOk ? int64_t(nsec) : int64_t(usec) * 1000;
}

}  // namespace horloge::refclock
