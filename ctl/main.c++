// horlogectl: the operator's read-only view of a running horloge.
//   horlogectl [-f CONFIG] [-s SOCKET] status [-j]
// Exit status: 0 all running; 1 clockd unreachable; 2 usage or configuration error;
// 3 clockd answered but refclockd or netd is not connected to it.
#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "status-client.h"
#include "status-text.h"
#include <capnp/compat/json.h>
#include <cstdio>
#include <cstring>
#include <string>

namespace horloge::ctl {
namespace {

constexpr int EXIT_UNREACHABLE = 1;
constexpr int EXIT_USAGE = 2;
constexpr int EXIT_PEER_DOWN = 3;
constexpr auto STATUS_TIMEOUT = 3 * kj::SECONDS;

struct Options {
  std::string config = DEFAULT_CONFIG;
  std::string socket;   // empty: from the configuration
  std::string command;
  bool json = false;
};

[[noreturn]] void usage(const char* problem) {
  if (problem) fprintf(stderr, "horlogectl: %s\n", problem);
  fprintf(stderr, "usage: horlogectl [-f CONFIG] [-s SOCKET] status [-j]\n");
  exit(EXIT_USAGE);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "-f") == 0 && i + 1 < argc) o.config = argv[++i];
    else if (strcmp(a, "-s") == 0 && i + 1 < argc) o.socket = argv[++i];
    else if (strcmp(a, "-j") == 0 && o.command == "status") o.json = true;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) usage(nullptr);
    else if (a[0] != '-' && o.command.empty()) o.command = a;
    else usage(kj::str("unexpected argument \"", a, "\"").cStr());
  }
  if (o.command != "status") usage(o.command.empty() ? "no command" : "unknown command");
  return o;
}

std::string statusSocket(const Options& o) {
  if (!o.socket.empty()) return o.socket;
  try {
    return ipc::socketPath(loadConfig(o.config), ipc::STATUS_SOCKET).cStr();
  } catch (const ConfigError& e) {
    fprintf(stderr, "horlogectl: %s\n", e.what());
    exit(EXIT_USAGE);
  }
}

int status(const Options& o) {
  auto io = kj::setupAsyncIo();
  kj::Own<capnp::MallocMessageBuilder> message;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    message = fetchStatus(io, statusSocket(o).c_str(), STATUS_TIMEOUT);
  })) {
    fprintf(stderr, "horlogectl: clockd is not running (%s)\n", e->getDescription().cStr());
    return EXIT_UNREACHABLE;
  }
  auto status = message->getRoot<ipc::SystemStatus>().asReader();

  auto text = o.json ? kj::str(capnp::JsonCodec().encode(status), '\n') : renderStatus(status);
  fwrite(text.begin(), 1, text.size(), stdout);
  fflush(stdout);

  auto down = downPeers(status);
  for (auto name: down) fprintf(stderr, "horlogectl: %s is not connected to clockd\n", name.cStr());
  return down.size() > 0 ? EXIT_PEER_DOWN : 0;
}

}  // namespace
}  // namespace horloge::ctl

int main(int argc, char** argv) {
  using namespace horloge::ctl;
  return status(parseArgs(argc, argv));
}
