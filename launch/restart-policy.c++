#include "restart-policy.h"
#include <algorithm>

namespace horloge::launch {

int64_t RestartPolicy::onFailure(int64_t nowNs) {
  failures.push_back(nowNs);
  while (!failures.empty() && nowNs - failures.front() > WINDOW_NS) failures.pop_front();
  if (failures.size() >= BURST) return -1;
  int64_t delay = FIRST_DELAY_NS << (failures.size() - 1);
  return std::min(delay, MAX_DELAY_NS);
}

}  // namespace horloge::launch
