// Plain line logging to stderr; the journal (or horloge-launch) adds time and unit.
// Callers on hot paths use RateLimitedLog so that no input can flood the log.
#pragma once
#include <atomic>
#include <cstdint>
#include <kj/string.h>

namespace horloge::log {

void setTag(kj::StringPtr tag);   // e.g. "clockd"; set once in main()
void info(kj::StringPtr message);
void warn(kj::StringPtr message);
void error(kj::StringPtr message);

// Lets through at most `perMinute` messages per minute, then counts what it suppressed.
class RateLimited {
public:
  explicit RateLimited(uint32_t perMinute): perMinute(perMinute) {}
  void warn(kj::StringPtr message);
private:
  uint32_t perMinute;
  std::atomic<int64_t> windowStart{0};
  std::atomic<uint32_t> inWindow{0};
  std::atomic<uint64_t> suppressed{0};
};

}  // namespace horloge::log
