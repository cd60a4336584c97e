#include "netd-counters.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <kj/string.h>
#include <set>

using namespace horloge;

TEST_CASE("netd counters: each counted once, each row its own field, families contiguous") {
  std::set<NetdCounter> seen;
  for (auto& row: NETD_STAT_ROWS) {
    if (row.counted) CHECK(seen.insert(row.counter).second);
  }
  CHECK(seen.size() == NETD_COUNTERS);

  capnp::MallocMessageBuilder m;
  auto stats = m.initRoot<ipc::NetdStats>();
  uint64_t n = 0;
  for (auto& row: NETD_STAT_ROWS) row.set(stats, ++n);
  n = 0;
  for (auto& row: NETD_STAT_ROWS) CHECK(row.get(stats.asReader()) == ++n);

  std::set<kj::StringPtr> closed;
  kj::StringPtr family;
  for (auto& row: NETD_STAT_ROWS) {
    if (row.metric != family) {
      CHECK(closed.insert(family).second);   // a family never comes back
      family = row.metric;
    }
  }
}
