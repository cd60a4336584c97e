#include "log.h"
#include <cstdio>
#include <ctime>

namespace horloge::log {

namespace {
char tagBuf[32] = "horloge";

void emit(const char* level, kj::StringPtr message) {
  // One fprintf per line keeps lines from different threads whole.
  fprintf(stderr, "%s: %s%s\n", tagBuf, level, message.cStr());
}
}  // namespace

void setTag(kj::StringPtr tag) { snprintf(tagBuf, sizeof(tagBuf), "%s", tag.cStr()); }
void info(kj::StringPtr message) { emit("", message); }
void warn(kj::StringPtr message) { emit("warning: ", message); }
void error(kj::StringPtr message) { emit("error: ", message); }

void RateLimited::warn(kj::StringPtr message) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  int64_t minute = ts.tv_sec / 60;
  int64_t start = windowStart.load(std::memory_order_relaxed);
  if (start != minute && windowStart.compare_exchange_strong(start, minute)) {
    uint64_t lost = suppressed.exchange(0);
    inWindow.store(0);
    if (lost) log::warn(kj::str(lost, " similar messages suppressed"));
  }
  if (inWindow.fetch_add(1) < perMinute) log::warn(message);
  else suppressed.fetch_add(1);
}

}  // namespace horloge::log
