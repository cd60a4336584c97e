#include "ntp-time.h"
#include "restart-policy.h"
#include <doctest/doctest.h>

using horloge::launch::RestartPolicy;
constexpr int64_t S = horloge::ntp::NS_PER_S;

TEST_CASE("restart policy: back-off doubles, then gives up on a crash loop") {
  RestartPolicy p;
  CHECK(p.onFailure(0) == S / 2);
  CHECK(p.onFailure(1 * S) == S);
  CHECK(p.onFailure(3 * S) == 2 * S);
  CHECK(p.onFailure(6 * S) == 4 * S);
  CHECK(p.onFailure(11 * S) == -1);
}

TEST_CASE("restart policy: failures far apart never give up") {
  RestartPolicy p;
  for (int i = 0; i < 20; ++i) CHECK(p.onFailure(i * 100 * S) == S / 2);
}
