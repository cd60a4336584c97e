// libFuzzer target for the messages clockd takes from its peers (clockd/validate.h), read as
// clockd reads them: a Cap'n Proto message under the read limit of the socket it arrives on
// (common/ipc.h). The first byte picks the message: 0 RefSample, 1 List(RefclockStatus) (inside
// a SystemStatus, as the tests build them), 2 NetdStats, 3 UpstreamSample, 4 DaemonInfo; the
// rest is the serialized message (segment table first). Reading and validating either succeed,
// and then the fields clockd relies on are within their bounds, or throw a kj::Exception; a
// message past the limit is refused before its segments are allocated. Nothing else.
#include "ipc.h"
#include "validate.h"
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <kj/io.h>
#include <cstdio>
#include <cstdlib>

using namespace horloge;
using namespace horloge::clockd;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "ipc-messages-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

void check(uint8_t kind, capnp::MessageReader& message) {
  switch (kind % 5) {
    case 0: {
      auto s = message.getRoot<ipc::RefSample>();
      validateSample(s);
      CHECK(s.getSourceId() < MAX_SOURCES);
      CHECK(s.getErrorNs() > 0);
      CHECK(s.getSystemTimeNs() >= EARLIEST_NS && s.getReferenceTimeNs() < LATEST_NS);
      break;
    }
    case 1: {
      auto list = message.getRoot<ipc::SystemStatus>().getRefclockd().getBody();
      validateRefclockStatus(list);
      CHECK(list.size() <= MAX_SOURCES);
      for (auto r: list) CHECK(r.getName().size() <= MAX_TEXT && r.getSatellites().size() <= 128);
      break;
    }
    case 2: {
      auto s = message.getRoot<ipc::NetdStats>();
      validateNetdStats(s);
      CHECK(s.getAnswered() <= s.getReceived() && s.getTopClients().size() <= 16);
      CHECK(s.getServedLeap() <= 3 && s.getServedStratum() <= 16);
      break;
    }
    case 3: {
      auto s = message.getRoot<ipc::UpstreamSample>();
      validateUpstreamSample(s);
      CHECK(s.getServer() < 16 && s.getAddress().size() <= 45);
      if (s.getValid()) CHECK(s.getT4Ns() >= s.getT1Ns() && s.getStratum() >= 1);
      break;
    }
    default: {
      auto info = message.getRoot<ipc::DaemonInfo>();
      validateDaemonInfo(info, ipc::Role::NETD);
      CHECK(info.getRole() == ipc::Role::NETD && info.getVersion().size() <= MAX_TEXT);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The socket each message arrives on: its read limit is the reader's.
  uint8_t kind = data[0];
  const ipc::Socket& socket = kind % 5 == 0 || kind % 5 == 1 ? ipc::REFCLOCK_SOCKET : ipc::NETD_SOCKET;
  capnp::ReaderOptions options;
  options.traversalLimitInWords = socket.hubReadWords;
  kj::ArrayInputStream input(kj::arrayPtr(data + 1, size - 1));
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    capnp::InputStreamMessageReader message(input, options);
    check(kind, message);
  })) {
    // Malformed, past the limit, or refused by validation: what clockd sends back as an error.
    (void)e;
  }
  return 0;
}
