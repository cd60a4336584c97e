#include "history.h"
#include <cmath>
#include <cstdio>
#include <kj/vector.h>

namespace horloge::monitord {

History::History(double intervalSeconds)
    : intervalSeconds(intervalSeconds),
      ring(kj::heapArray<Sample>(kj::min(MAX_SAMPLES, size_t(std::ceil(86400 / intervalSeconds))))) {}

void History::add(ipc::SystemStatus::Reader status) {
  uint32_t pid = status.getClockd().getPid();
  if (pid != 0 && clockdPid != 0 && pid != clockdPid) ++clockdRestarts;
  if (pid != 0) clockdPid = pid;
  auto clock = status.getClock();
  Sample s{status.getGeneratedNs(), uint8_t(clock.getState()), clock.getOffset(),
           clock.getJitter(), clock.getFrequency(), NAN};
  auto netd = status.getNetd();
  if (netd.getConnected()) {
    uint64_t received = netd.getBody().getReceived();
    int64_t dt = s.timeNs - lastTimeNs;
    // A counter that went down means netd restarted: no rate for this interval.
    if (lastTimeNs != 0 && dt > 0 && received >= lastReceived) {
      s.requestRate = double(received - lastReceived) / (double(dt) * 1e-9);
    }
    lastTimeNs = s.timeNs;
    lastReceived = received;
  } else {
    lastTimeNs = 0;
  }
  add(s);
}

void History::add(const Sample& sample) {
  ring[next] = sample;
  next = (next + 1) % ring.size();
  if (count < ring.size()) ++count;
}

namespace {

void number(kj::Vector<char>& out, double v, const char* fmt) {
  if (!std::isfinite(v)) {
    out.addAll("null"_kj);
    return;
  }
  char buf[40];
  snprintf(buf, sizeof(buf), fmt, v);
  out.addAll(kj::StringPtr(buf));
}

}  // namespace

kj::String History::toJson() const {
  kj::Vector<char> out(64 + count * 80);
  out.addAll(kj::str("{\"intervalSeconds\":", intervalSeconds, ",\"clockdRestarts\":",
                     clockdRestarts, ",\"samples\":["));
  size_t first = (next + ring.size() - count) % ring.size();
  for (size_t i = 0; i < count; ++i) {
    auto& s = ring[(first + i) % ring.size()];
    if (i > 0) out.add(',');
    out.add('[');
    number(out, double(s.timeNs) * 1e-9, "%.3f");
    out.addAll(kj::str(',', s.state, ','));
    number(out, s.offset, "%.6e");
    out.add(',');
    number(out, s.jitter, "%.6e");
    out.add(',');
    number(out, s.frequency, "%.6f");
    out.add(',');
    number(out, s.requestRate, "%.3f");
    out.add(']');
  }
  out.addAll("]}\n"_kj);
  out.add('\0');
  return kj::String(out.releaseAsArray());
}

}  // namespace horloge::monitord
