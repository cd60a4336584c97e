#include "proc-status.h"
#include <doctest/doctest.h>
#include <unistd.h>

using namespace horloge;

TEST_CASE("proc status: parses the confinement fields") {
  ProcStatus s = parseProcStatus(
      "Name:\tx\nUid:\t0\t65534\t65534\t65534\nCapEff:\t0000000002000000\n"
      "NoNewPrivs:\t1\nSeccomp:\t2\n");
  CHECK(s.uid == 65534);
  CHECK(s.capEff == (1ULL << 25));
  CHECK(s.noNewPrivs);
  CHECK(s.seccomp == 2);
}

TEST_CASE("proc status: reads this process") {
  CHECK(readProcStatus().uid == geteuid());
}
