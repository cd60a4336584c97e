#include "state-cell.h"
#include <atomic>
#include <chrono>
#include <doctest/doctest.h>
#include <thread>
#include <vector>

using namespace horloge;
using namespace horloge::netd;

namespace {

// Every field derives from one counter, so a torn read shows up as fields that disagree.
Snapshot make(uint64_t k) {
  Snapshot s;
  s.pushed = true;
  s.leap = k % 4;
  s.stratum = k % 17;
  s.precision = -static_cast<int8_t>(k % 33);
  s.refid = static_cast<uint32_t>(k * 2654435761u);
  s.referenceTime = k * 0x0001000100010001ull;
  s.rootDelay = static_cast<uint32_t>(~k);
  s.rootDispersion = static_cast<uint32_t>(k >> 3);
  s.pushedMonoNs = static_cast<int64_t>(k);
  return s;
}

bool consistent(const Snapshot& s) {
  uint64_t k = static_cast<uint64_t>(s.pushedMonoNs);
  Snapshot e = make(k);
  return s.pushed == e.pushed && s.leap == e.leap && s.stratum == e.stratum &&
         s.precision == e.precision && s.refid == e.refid &&
         s.referenceTime == e.referenceTime && s.rootDelay == e.rootDelay &&
         s.rootDispersion == e.rootDispersion;
}

}  // namespace

TEST_CASE("state cell: initial value, store, load") {
  StateCell cell;
  CHECK_FALSE(cell.load().pushed);
  CHECK(cell.load().refid == REFID_INIT);
  cell.store(make(42));
  Snapshot s = cell.load();
  CHECK(s.pushedMonoNs == 42);
  CHECK(consistent(s));
}

TEST_CASE("state cell: concurrent readers never see a torn state") {
  StateCell cell(make(1));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0}, backwards{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&]() {
      int64_t last = 0;
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        Snapshot s = cell.load();
        if (!consistent(s)) torn.fetch_add(1);
        if (s.pushedMonoNs < last) backwards.fetch_add(1);   // one writer: values only grow
        last = s.pushedMonoNs;
        ++n;
      }
      reads.fetch_add(n);
    });
  }
  uint64_t k = 1;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1000; ++i) cell.store(make(++k));
  }
  stop = true;
  for (auto& t: readers) t.join();
  MESSAGE(k, " stores, ", reads.load(), " reads");
  CHECK(torn.load() == 0);
  CHECK(backwards.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(k > 1000);
}
