// Per-source sample statistics: a window of recent (local - reference) offsets, reduced to a
// median offset, an RMS jitter around it, and a frequency from a least-squares fit.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace horloge::clockd {

struct Sample {
  int64_t localNs;     // local (system) clock at the event
  double offset;       // seconds, local minus reference
  double error;        // seconds, 1-sigma from the source
};

struct SourceStats {
  size_t count = 0;          // samples in the window
  double offset = 0;         // median, seconds
  double jitter = 0;         // RMS deviation from the median, seconds
  double frequency = 0;      // ppm: how fast the local clock gains on the reference
  int64_t lastLocalNs = 0;
};

class SourceFilter {
public:
  static constexpr size_t WINDOW = 16;
  static constexpr size_t MEDIAN_OF = 5;

  void add(const Sample& s);
  void clear() { n = 0; }
  SourceStats stats() const;
  uint64_t total() const { return added; }
  // A reach register for a source that samples once a second, as chronyc shows it (octal 377:
  // every second heard): bit k set when a sample arrived k to k+1 seconds before `nowNs`.
  uint8_t reach(int64_t nowNs) const;
  // The newest sample's offset (the statistics' offset is a median); 0 when there is none.
  double newestOffset() const { return n ? at(0).offset : 0; }

private:
  std::array<Sample, WINDOW> ring{};
  size_t head = 0, n = 0;
  uint64_t added = 0;
  const Sample& at(size_t age) const { return ring[(head + WINDOW - 1 - age) % WINDOW]; }
};

}  // namespace horloge::clockd
