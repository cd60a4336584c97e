// Test double for /dev/ppsN, loaded with LD_PRELOAD (tests only, never installed). ioctl()s
// of the RFC 2783 family on a *regular file* are answered as a pps-gpio device would: assert
// and clear capture, PPS_CANWAIT, and PPS_FETCH that blocks until the next whole second of
// CLOCK_REALTIME (plus HORLOGE_FAKE_PPS_OFFSET_NS) or its timeout. HORLOGE_FAKE_PPS_MISSING=1
// makes every fetch time out (no pulses). A file that was removed (no link left) fails its
// fetches with ENODEV, as a device that went away does. Everything else goes to the real ioctl().
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <linux/pps.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace {

constexpr long long S = 1'000'000'000;

long long envNs(const char* name) {
  const char* v = getenv(name);
  return v == nullptr ? 0 : atoll(v);
}

long long nowNs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * S + t.tv_nsec;
}

void sleepUntil(long long ns) {
  timespec t{static_cast<time_t>(ns / S), static_cast<long>(ns % S)};
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &t, nullptr) == EINTR) {}
}

int fetch(int fd, pps_fdata* d) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0) {
    errno = ENODEV;
    return -1;
  }
  long long offset = envNs("HORLOGE_FAKE_PPS_OFFSET_NS");
  long long now = nowNs();
  long long timeout = d->timeout.flags & PPS_TIME_INVALID
                          ? 3600 * S : d->timeout.sec * S + d->timeout.nsec;
  long long edge = ((now - offset) / S + 1) * S + offset;
  if (getenv("HORLOGE_FAKE_PPS_MISSING") != nullptr || edge > now + timeout) {
    sleepUntil(now + timeout);
    errno = ETIMEDOUT;
    return -1;
  }
  sleepUntil(edge);
  unsigned seq = static_cast<unsigned>(edge / S);
  d->info.assert_sequence = d->info.clear_sequence = seq;
  d->info.assert_tu = {edge / S, static_cast<int>(edge % S), 0};
  long long clear = edge + 100'000'000;   // a 100 ms pulse: the previous clear edge
  d->info.clear_tu = {(clear - S) / S, static_cast<int>((clear - S) % S), 0};
  d->info.current_mode = PPS_CAPTUREBOTH | PPS_CANWAIT;
  return 0;
}

}  // namespace

extern "C" int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  using Real = int (*)(int, unsigned long, void*);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "ioctl"));
  struct stat st;
  // HORLOGE_FAKE_PPS_CHARDEV=1: also /dev/null (char 1:3) bind-mounted on /dev/ppsN, for
  // programs that want a character device there (gpsd, tests/integration/gpsd_test.py).
  bool fake = fstat(fd, &st) == 0 &&
              (S_ISREG(st.st_mode) ||
               (getenv("HORLOGE_FAKE_PPS_CHARDEV") != nullptr && S_ISCHR(st.st_mode) &&
                st.st_rdev == makedev(1, 3)));
  if (fake) {
    switch (request) {
      case PPS_GETCAP:
        *static_cast<int*>(arg) = PPS_CAPTUREBOTH | PPS_OFFSETASSERT | PPS_CANWAIT | PPS_TSFMT_TSPEC;
        return 0;
      case PPS_GETPARAMS: {
        auto* p = static_cast<pps_kparams*>(arg);
        p->api_version = PPS_API_VERS;
        p->mode = PPS_CAPTUREASSERT | PPS_TSFMT_TSPEC;
        return 0;
      }
      case PPS_SETPARAMS: return 0;
      case PPS_FETCH: return fetch(fd, static_cast<pps_fdata*>(arg));
    }
  }
  return real(fd, request, arg);
}
