// The NTS server keys clockd pushes, shared between netd's IPC thread (the one writer) and
// its workers. Keys change once a day: a worker compares the generation (one atomic load per
// batch) and takes its own copy under the mutex only when it moved, so the hot path never locks.
#pragma once
#include "keys.h"
#include <atomic>
#include <kj/mutex.h>

namespace horloge::netd {

class NtsKeyCell {
public:
  void store(nts::KeySet keys) {
    auto lock = cell.lockExclusive();
    *lock = kj::mv(keys);
    gen.fetch_add(1, std::memory_order_release);
  }
  // 0 until the first store().
  uint64_t generation() const { return gen.load(std::memory_order_acquire); }
  nts::KeySet copy() const { return cell.lockShared()->clone(); }

private:
  kj::MutexGuarded<nts::KeySet> cell;
  std::atomic<uint64_t> gen{0};
};

}  // namespace horloge::netd
