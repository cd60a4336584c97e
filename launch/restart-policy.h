// When horloge-launch restarts a daemon that died, and when it gives up: the behaviour of
// systemd's Restart=on-failure with RestartSec back-off and a start limit.
#pragma once
#include <cstdint>
#include <deque>

namespace horloge::launch {

class RestartPolicy {
public:
  static constexpr int BURST = 5;                    // failures ...
  static constexpr int64_t WINDOW_NS = 60'000'000'000; // ... within this long, and we give up
  static constexpr int64_t FIRST_DELAY_NS = 500'000'000;
  static constexpr int64_t MAX_DELAY_NS = 8'000'000'000;

  // A failure at `nowNs`. Returns the delay before the restart, or -1 to give up.
  int64_t onFailure(int64_t nowNs);

private:
  std::deque<int64_t> failures;
};

}  // namespace horloge::launch
