#include "selection.h"
#include <doctest/doctest.h>

using namespace horloge::clockd;

static Candidate pps(double off, double err) { return {SourceKind::PPS, true, off, err, err / 3}; }
static Candidate ntp(double off, double err) { return {SourceKind::NTP, true, off, err, err / 3}; }

TEST_CASE("selection: a falseticker is marked and left out") {
  // Three agree around 0; one says +50 ms.
  auto s = select({ntp(1e-3, 5e-3), ntp(-2e-3, 5e-3), ntp(50e-3, 5e-3), pps(0.2e-6, 1e-6)});
  CHECK(s.marks[2] == Mark::FALSETICKER);
  CHECK(s.selected == 3);                       // PPS preferred
  CHECK(s.marks[3] == Mark::SELECTED);
  CHECK(s.marks[0] == Mark::OUTLIER);           // a PPS is combined only with PPS
  CHECK(s.offset == doctest::Approx(0.2e-6).scale(0));
}

TEST_CASE("selection: survivors combined, weighted by their jitter") {
  auto s = select({ntp(1e-3, 3e-3), ntp(2e-3, 3e-3), ntp(1.5e-3, 6e-3)});
  CHECK(s.selected >= 0);
  CHECK(s.marks[0] != Mark::FALSETICKER);
  int combined = 0;
  for (auto m: s.marks) combined += m == Mark::COMBINED || m == Mark::SELECTED;
  CHECK(combined == 3);
  CHECK(s.offset > 1e-3);
  CHECK(s.offset < 2e-3);
}

TEST_CASE("selection: no majority, no selection; unusable stays '?'") {
  Candidate stale = ntp(0, 1e-3);
  stale.usable = false;
  auto s = select({ntp(0, 1e-3), ntp(10e-3, 1e-3), stale});
  CHECK(s.selected == -1);
  CHECK(s.marks[0] == Mark::FALSETICKER);
  CHECK(s.marks[1] == Mark::FALSETICKER);
  CHECK(s.marks[2] == Mark::UNUSABLE);
  CHECK(select({}).selected == -1);
}

TEST_CASE("selection: a single PPS is selected") {
  auto s = select({pps(3e-7, 1e-6)});
  CHECK(s.selected == 0);
  CHECK(s.marks[0] == Mark::SELECTED);
}

TEST_CASE("selection: the current source stays until another is better by the reselect distance") {
  Candidate a = ntp(0, 1.00e-3), b = ntp(10e-6, 1.05e-3);
  b.current = true;
  CHECK(select({a, b}).selected == 1);          // 50 µs better is not enough
  a.error = 0.85e-3;
  CHECK(select({a, b}).selected == 0);          // 200 µs better is
  Candidate p = ntp(0, 2e-3);
  p.prefer = true;
  CHECK(select({a, b, p}).selected == 2);       // `prefer` first, among the survivors
}
