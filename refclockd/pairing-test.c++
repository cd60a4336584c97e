#include "pairing.h"
#include <doctest/doctest.h>

using namespace horloge::refclock;
constexpr int64_t S = 1'000'000'000;

TEST_CASE("pairing: an edge takes the second of the sentence after it, once") {
  Pairing p(0);
  CHECK_FALSE(p.onTime(100, 100 * S));             // no edge yet
  p.onEdge(100 * S + 1500);
  auto s = p.onTime(100, 100 * S + 200'000'000);
  REQUIRE(s);
  CHECK(s->systemTimeNs == 100 * S + 1500);
  CHECK(s->referenceTimeNs == 100 * S);
  CHECK(s->nmeaDelayNs == 200'000'000 - 1500);
  CHECK_FALSE(p.onTime(100, 100 * S + 210'000'000));   // ZDA after RMC: same edge
}

TEST_CASE("pairing: a sentence too late for its edge is refused") {
  Pairing p(280'000'000);
  p.onEdge(100 * S);
  CHECK_FALSE(p.onTime(100, 101 * S));
  p.onEdge(101 * S);
  auto s = p.onTime(101, 101 * S + 300'000'000);
  REQUIRE(s);
  CHECK(s->referenceTimeNs == 101 * S + 280'000'000);
}
