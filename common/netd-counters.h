// netd's request counters, one table for every place that handles them: netd counts them
// (netd/responder.h, indexed by NetdCounter) and sends them (NetdStats, netd/clockd-feed.c++),
// clockd bounds them (clockd/validate.c++), monitord exports them (/metrics) and horlogectl
// lists them (`serverstats`). A new counter is a schema field, an enum value and a row here.
#pragma once
#include <horloge.capnp.h>
#include <cstddef>
#include <cstdint>

namespace horloge {

// What netd's workers count, per request. The drop reasons follow netd::Drop (netd/packet.h).
enum class NetdCounter : uint8_t {
  RECEIVED, ANSWERED,
  DROPPED_LENGTH, DROPPED_VERSION, DROPPED_MODE, DROPPED_EXTENSION, DROPPED_AUTH,
  DROPPED_SOURCE, DROPPED_OWN_ADDRESS, DROPPED_DENIED, DROPPED_NTS,
  RATE_LIMITED, KOD_SENT, SEND_ERRORS,
  REQUESTS_V1, REQUESTS_V2, REQUESTS_V3, REQUESTS_V4,
  INTERLEAVED, KERNEL_RX_STAMPS, USER_RX_STAMPS, KERNEL_TX_STAMPS,
  NTS_REQUESTS, NTS_NAKS, NTS_COOKIES_ISSUED,
};
constexpr size_t NETD_COUNTERS = static_cast<size_t>(NetdCounter::NTS_COOKIES_ISSUED) + 1;

// One row of NetdStats as operators see it.
struct NetdStatRow {
  // The counter netd keeps for it; none for `dropped`, which netd derives (the drops by
  // reason and the send errors).
  bool counted;
  NetdCounter counter;
  const char* key;             // horlogectl serverstats -j and -c (snake_case)
  const char* label;           // horlogectl serverstats
  // /metrics: family, and the label that tells its samples apart ("" if it has one sample).
  const char* metric;
  const char* metricLabel;
  const char* metricLabelValue;
  const char* help;            // the family's, on its first row
  // Each is a count of received requests: clockd refuses a report where it exceeds
  // `received` (see validateNetdStats for why not every counter is bounded).
  bool perRequest;
  uint64_t (*get)(ipc::NetdStats::Reader);
  void (*set)(ipc::NetdStats::Builder, uint64_t);
};

// In horlogectl's order; the rows of a /metrics family are contiguous.
extern const NetdStatRow NETD_STAT_ROWS[26];

}  // namespace horloge
