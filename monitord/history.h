// The dashboard's memory: clockd's figures sampled every `interval`, in a ring of fixed
// capacity allocated once (24 h of samples, at most MAX_SAMPLES). Nothing persists: a restart
// of monitord starts an empty chart.
#pragma once
#include <cstdint>
#include <horloge.capnp.h>
#include <kj/array.h>
#include <kj/string.h>

namespace horloge::monitord {

class History {
public:
  static constexpr size_t MAX_SAMPLES = 8640;
  struct Sample {
    int64_t timeNs;
    uint8_t state;        // ipc::SyncState
    double offset;        // s
    double jitter;        // s
    double frequency;     // ppm
    double requestRate;   // requests/s since the previous sample; NaN when unknown
  };

  explicit History(double intervalSeconds);
  KJ_DISALLOW_COPY(History);

  // Adds a sample from one status; the request rate comes from netd's counter delta.
  void add(ipc::SystemStatus::Reader status);
  void add(const Sample& sample);

  size_t size() const { return count; }
  uint32_t restartsOfClockd() const { return clockdRestarts; }
  size_t capacity() const { return ring.size(); }
  double interval() const { return intervalSeconds; }

  // {"intervalSeconds":N,"clockdRestarts":N,"samples":[[unixSeconds,state,offset,jitter,
  // frequency,rate],...]} oldest first; NaN written as null.
  kj::String toJson() const;

private:
  double intervalSeconds;
  kj::Array<Sample> ring;
  size_t next = 0, count = 0;
  // For the rate: netd's received counter at the previous sample (0 time: none).
  int64_t lastTimeNs = 0;
  uint64_t lastReceived = 0;
  // clockd's restarts as the samples saw them (its pid changed): clockd cannot count its own.
  uint32_t clockdPid = 0;
  uint32_t clockdRestarts = 0;
};

}  // namespace horloge::monitord
