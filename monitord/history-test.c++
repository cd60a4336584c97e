#include "history.h"
#include <capnp/message.h>
#include <doctest/doctest.h>
#include <string_view>

namespace horloge::monitord {
namespace {

TEST_CASE("history: fixed capacity, oldest dropped, request rate from counter deltas") {
  History h(30);
  CHECK(h.capacity() == 2880);
  CHECK(History(1).capacity() == History::MAX_SAMPLES);

  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  s.initClock().setOffset(1e-6);
  s.initNetd().setConnected(true);
  s.setGeneratedNs(1'000'000'000'000);
  s.getNetd().initBody().setReceived(100);
  h.add(s.asReader());
  s.setGeneratedNs(1'010'000'000'000);
  s.getNetd().getBody().setReceived(600);
  h.add(s.asReader());
  CHECK(h.toJson() ==
        "{\"intervalSeconds\":30,\"clockdRestarts\":0,\"samples\":[[1000.000,0,1.000000e-06,0.000000e+00,0.000000,null],"
        "[1010.000,0,1.000000e-06,0.000000e+00,0.000000,50.000]]}\n");

  for (int i = 0; i < 3000; ++i) h.add(History::Sample{int64_t(i) * 1'000'000'000, 1, 0, 0, 0, 0});
  CHECK(h.size() == 2880);
  auto json = h.toJson();
  CHECK(std::string_view(json.cStr()).find("[120.000,1,") != std::string_view::npos);   // oldest kept
  CHECK(std::string_view(json.cStr()).find("[119.000,") == std::string_view::npos);
}

TEST_CASE("history: clockd's restarts, seen as its pid changing between samples") {
  History h(30);
  capnp::MallocMessageBuilder m;
  auto s = m.initRoot<ipc::SystemStatus>();
  s.initClock();
  for (uint32_t pid: {0u, 100u, 100u, 230u, 230u, 0u, 231u}) {
    s.initClockd().setPid(pid);
    h.add(s.asReader());
  }
  CHECK(h.restartsOfClockd() == 2);
  CHECK(std::string_view(h.toJson().cStr()).find("\"clockdRestarts\":2,") != std::string_view::npos);
}

}  // namespace
}  // namespace horloge::monitord
