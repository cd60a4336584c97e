// The server state shared between netd's IPC thread (the one writer) and its worker threads
// (readers, once per recvmmsg batch): a seqlock over a small trivially-copyable value kept in
// std::atomic<uint64_t> words, so reads take no lock, allocate nothing, never block the writer
// and are free of data races in the C++ memory model (Boehm, "Can seqlocks get along with
// programming language memory models?", 2012).
#pragma once
#include "packet.h"
#include <atomic>
#include <cstring>
#include <type_traits>

namespace horloge::netd {

template <typename T>
class SeqlockCell {
  static_assert(std::is_trivially_copyable_v<T>);

public:
  explicit SeqlockCell(const T& initial = T()) { store(initial); }
  SeqlockCell(const SeqlockCell&) = delete;
  SeqlockCell& operator=(const SeqlockCell&) = delete;

  // One writer at a time (netd: the IPC thread). Wait-free.
  void store(const T& value) {
    uint64_t buf[WORDS] = {};
    memcpy(buf, &value, sizeof(T));
    uint64_t s = seq.load(std::memory_order_relaxed);
    seq.store(s + 1, std::memory_order_relaxed);        // odd: a write is under way
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < WORDS; ++i) words[i].store(buf[i], std::memory_order_relaxed);
    seq.store(s + 2, std::memory_order_release);
  }

  // Any number of readers. Retries only while a store overlaps, which takes nanoseconds.
  T load() const {
    uint64_t buf[WORDS];
    for (;;) {
      uint64_t s1 = seq.load(std::memory_order_acquire);
      if (s1 & 1) continue;
      for (size_t i = 0; i < WORDS; ++i) buf[i] = words[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq.load(std::memory_order_relaxed) == s1) break;
    }
    T value;
    memcpy(&value, buf, sizeof(T));
    return value;
  }

private:
  static constexpr size_t WORDS = (sizeof(T) + 7) / 8;
  // The sequence has its own cache line, away from whatever sits before the cell.
  alignas(64) std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> words[WORDS];
};

using StateCell = SeqlockCell<Snapshot>;

}  // namespace horloge::netd
