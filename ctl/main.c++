// horlogectl: the operator's read-only view of a running horloge.
//   horlogectl [-f CONFIG] [-s SOCKET] COMMAND [-j | -c]
//   COMMAND: status sources sourcestats tracking serverstats clients gnss (views.h), or
//   firewall (firewall.h: from the configuration alone, clockd not asked)
// Exit status: 0 all running; 1 clockd unreachable; 2 usage or configuration error;
// 3 clockd answered but a peer is not connected to it: for `status` either peer (the status
// is still printed); for serverstats/clients (netd) and gnss (refclockd) the one they show
// (nothing printed but which one is down).
#include "config.h"
#include "daemon.h"
#include "firewall.h"
#include "ipc.h"
#include "status-client.h"
#include "status-text.h"
#include "views.h"
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
  Format format = Format::TEXT;
};

[[noreturn]] void usage(const char* problem) {
  if (problem) fprintf(stderr, "horlogectl: %s\n", problem);
  fprintf(stderr, "usage: horlogectl [-f CONFIG] [-s SOCKET] COMMAND [-j | -c]\n"
                  "commands: status sources sourcestats tracking serverstats clients gnss\n"
                  "          firewall (nftables elements for the configured servers)\n"
                  "  -j JSON, -c CSV\n");
  exit(EXIT_USAGE);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "-f") == 0 && i + 1 < argc) o.config = argv[++i];
    else if (strcmp(a, "-s") == 0 && i + 1 < argc) o.socket = argv[++i];
    else if (strcmp(a, "-j") == 0) o.format = Format::JSON;
    else if (strcmp(a, "-c") == 0) o.format = Format::CSV;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) usage(nullptr);
    else if (a[0] != '-' && o.command.empty()) o.command = a;
    else usage(kj::str("unexpected argument \"", a, "\"").cStr());
  }
  if (o.command.empty()) usage("no command");
  if (o.command != "firewall" && findCommand(o.command.c_str()) == nullptr) {
    usage("unknown command");
  }
  return o;
}

Config config(const Options& o) {
  try {
    return loadConfig(o.config);
  } catch (const ConfigError& e) {
    fprintf(stderr, "horlogectl: %s\n", e.what());
    exit(EXIT_USAGE);
  }
}

ipc::Endpoint statusEndpoint(const Options& o) {
  if (o.socket.empty()) return ipc::clockdEndpoint(config(o), ipc::STATUS_SOCKET);
  // -s: that socket; clockd's user from the configuration when there is one to read.
  Config c;
  try {
    c = loadConfig(o.config);
  } catch (const ConfigError&) {
  }
  auto endpoint = ipc::clockdEndpoint(c, ipc::STATUS_SOCKET);
  endpoint.path = kj::str(o.socket);
  return endpoint;
}

int run(const Options& o) {
  if (o.command == "firewall") {
    fputs(firewallElements(config(o)).c_str(), stdout);
    return 0;
  }
  auto io = kj::setupAsyncIo();
  kj::Own<capnp::MallocMessageBuilder> message;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    message = fetchStatus(io, statusEndpoint(o), STATUS_TIMEOUT);
  })) {
    fprintf(stderr, "horlogectl: clockd is not running (%s)\n", e->getDescription().cStr());
    return EXIT_UNREACHABLE;
  }
  auto status = message->getRoot<ipc::SystemStatus>().asReader();

  auto& command = KJ_ASSERT_NONNULL(findCommand(o.command.c_str()));
  if (command.needs.size() > 0) {
    for (auto name: downPeers(status)) {
      if (name == command.needs) {
        fprintf(stderr, "horlogectl: %s is not connected to clockd\n", name.cStr());
        return EXIT_PEER_DOWN;
      }
    }
  }

  kj::String text;
  if (command.name == "status" && o.format == Format::TEXT) text = renderStatus(status);
  else if (command.name == "status" && o.format == Format::JSON) {
    text = kj::str(capnp::JsonCodec().encode(status), '\n');   // the whole message, as /status
  } else {
    auto views = command.views(status);
    text = render(views, o.format);
  }
  fwrite(text.begin(), 1, text.size(), stdout);
  fflush(stdout);
  if (command.needs.size() > 0) return 0;

  auto down = downPeers(status);
  for (auto name: down) fprintf(stderr, "horlogectl: %s is not connected to clockd\n", name.cStr());
  return down.size() > 0 ? EXIT_PEER_DOWN : 0;
}

}  // namespace
}  // namespace horloge::ctl

int main(int argc, char** argv) {
  using namespace horloge::ctl;
  return run(parseArgs(argc, argv));
}
