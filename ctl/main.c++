// horlogectl: the operator's read-only view of a running horloge (docs/horlogectl.md, the
// source of horlogectl(1)).
//   horlogectl [-f CONFIG] [-s SOCKET] [-j | -c] [-v] COMMAND
//   COMMAND: status sources sourcestats tracking serverstats clients gnss satellites daemons
//   (views.h), doctor (doctor.h), firewall (firewall.h), import FILE (import.h)
// Exit status: 0 all running; 1 clockd unreachable (doctor: a check FAILed); 2 usage or
// configuration error; 3 clockd answered but a peer is not connected to it: for `status`
// either peer (the status is still printed); for serverstats/clients (netd) and
// gnss/satellites (refclockd) the one they show (nothing printed but which one is down).
#include "config.h"
#include "daemon.h"
#include "doctor.h"
#include "firewall.h"
#include "host-info.h"
#include "import.h"
#include "ipc.h"
#include "ntp-time.h"
#include "error-text.h"
#include "status-client.h"
#include "status-json.h"
#include "status-text.h"
#include "views.h"
#include <cstdio>
#include <cstring>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace horloge::ctl {
namespace {

constexpr int EXIT_UNREACHABLE = 1;
constexpr int EXIT_FAILED = 1;
constexpr int EXIT_USAGE = 2;
constexpr int EXIT_PEER_DOWN = 3;
constexpr auto STATUS_TIMEOUT = 3 * kj::SECONDS;

struct Options {
  std::string config = DEFAULT_CONFIG;
  std::string socket;   // empty: from the configuration
  std::string command;
  std::string file;     // import's input
  kj::Maybe<Dialect> dialect;
  Format format = Format::TEXT;
  bool legend = false;
};

void printUsage(FILE* to) {
  fprintf(to, "usage: horlogectl [-f CONFIG] [-s SOCKET] [-j | -c] [-v] COMMAND\n"
              "       horlogectl import [--chrony | --ntpd] FILE\n"
              "Shows the state of the horloge NTP server; changes nothing.\n\ncommands:\n");
  for (auto& c: commands()) fprintf(to, "  %-12s %s\n", c.name.cStr(), c.summary.cStr());
  fprintf(to, "  %-12s %s\n", "doctor", "read-only checks of the installation, each PASS, WARN or "
                                         "FAIL with its fix");
  fprintf(to, "  %-12s %s\n", "firewall", "the nftables elements that let netd poll the "
                                           "configured servers");
  fprintf(to, "  %-12s %s\n", "import FILE", "a chrony.conf or ntp.conf translated into "
                                              "horloge.conf, on standard output");
  fprintf(to, "\noptions:\n"
              "  -f CONFIG   the configuration (default %s)\n"
              "  -s SOCKET   clockd's status socket (default: status.sock in the rundir)\n"
              "  -j          JSON: objects keyed by stable snake_case names, typed values\n"
              "  -c          CSV: one table, its header line the same names\n"
              "  -v          what each column means, above the table\n"
              "  -h, --help  this help\n"
              "exit status: 0 ok; 1 clockd unreachable, or doctor found a FAIL; 2 usage or "
              "configuration error;\n3 a peer of clockd is not connected. man horlogectl.\n",
              DEFAULT_CONFIG);
}

[[noreturn]] void usage(const char* problem) {
  fprintf(stderr, "horlogectl: %s\n", problem);
  printUsage(stderr);
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
    else if (strcmp(a, "-v") == 0) o.legend = true;
    else if (strcmp(a, "--chrony") == 0) o.dialect = Dialect::CHRONY;
    else if (strcmp(a, "--ntpd") == 0) o.dialect = Dialect::NTPD;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      printUsage(stdout);
      exit(0);
    } else if (a[0] != '-' && o.command.empty()) o.command = a;
    else if (a[0] != '-' && o.command == "import" && o.file.empty()) o.file = a;
    else usage(kj::str("unexpected argument \"", a, "\"").cStr());
  }
  if (o.command.empty()) usage("no command");
  if (o.command == "import" && o.file.empty()) usage("import: which file? (a chrony.conf or ntp.conf)");
  bool known = o.command == "firewall" || o.command == "doctor" || o.command == "import" ||
               findCommand(o.command.c_str()) != nullptr;
  if (!known) usage(kj::str("unknown command \"", o.command.c_str(), "\"").cStr());
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

// clockd's status socket and the user who must serve it: `-s` or the configuration's, else
// the defaults (a configuration that does not load is `strict`'s error, or left to the caller).
ipc::Endpoint statusEndpoint(const Options& o, bool strict = true) {
  if (strict && o.socket.empty()) return ipc::clockdEndpoint(config(o), ipc::STATUS_SOCKET);
  Config c;
  try {
    c = loadConfig(o.config);
  } catch (const ConfigError&) {
  }
  auto endpoint = ipc::clockdEndpoint(c, ipc::STATUS_SOCKET);
  if (!o.socket.empty()) endpoint.path = kj::str(o.socket);
  return endpoint;
}

kj::String userName(uint32_t uid) {
  passwd pw, *found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || found == nullptr) return kj::str("");
  return kj::str(pw.pw_name);
}

void write(kj::StringPtr text) {
  fwrite(text.begin(), 1, text.size(), stdout);
  fflush(stdout);
}

int runImport(const Options& o) {
  std::ifstream f(o.file, std::ios::binary);
  if (!f) {
    fprintf(stderr, "horlogectl: import: cannot read %s: %s\n", o.file.c_str(), strerror(errno));
    return EXIT_USAGE;
  }
  std::ostringstream s;
  s << f.rdbuf();
  if (s.str().size() > 1 << 20) {
    fprintf(stderr, "horlogectl: import: %s is larger than 1 MiB\n", o.file.c_str());
    return EXIT_USAGE;
  }
  std::string name = o.file.substr(o.file.rfind('/') + 1);
  Dialect dialect = guessDialect(s.str(), name);
  KJ_IF_MAYBE(d, o.dialect) dialect = *d;
  auto out = importConfig(s.str(), name, dialect);
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// `nft list tables`, or null when nft cannot be run.
kj::Maybe<kj::String> nftTables() {
  FILE* p = popen("nft list tables 2>/dev/null", "r");
  if (p == nullptr) return nullptr;
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 127) return nullptr;
  if (WEXITSTATUS(rc) != 0 && out.empty()) return nullptr;
  return kj::str(out.c_str());
}

int runDoctorCommand(const Options& o) {
  DoctorEnv env;
  env.configPath = kj::str(o.config.c_str());
  env.nowNs = realtimeNs();
  env.sleep = [](int64_t ns) { usleep(useconds_t(ns / 1000)); };
  env.nftTables = nftTables;
  kj::Own<capnp::MallocMessageBuilder> message;
  env.status = [&](kj::String& why) -> kj::Maybe<ipc::SystemStatus::Reader> {
    auto endpoint = statusEndpoint(o, false);
    auto socket = kj::str(endpoint.path);
    auto io = kj::setupAsyncIo();
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      message = fetchStatus(io, kj::mv(endpoint), STATUS_TIMEOUT);
    })) {
      why = kj::str(socket, ": ", e->getType() == kj::Exception::Type::OVERLOADED
                                              ? "timed out" : "not answering");
      return nullptr;
    }
    return message->getRoot<ipc::SystemStatus>().asReader();
  };
  auto findings = runDoctor(env);
  if (o.format == Format::TEXT) {
    write(renderFindings(findings));
  } else {
    auto v = kj::arr(findingsView(findings));
    write(render(v, o.format));
  }
  for (auto& f: findings) if (f.result == Finding::FAIL) return EXIT_FAILED;
  return 0;
}

int run(const Options& o) {
  if (o.command == "import") return runImport(o);
  if (o.command == "doctor") return runDoctorCommand(o);
  if (o.command == "firewall") {
    fputs(firewallElements(config(o)).c_str(), stdout);
    return 0;
  }
  auto endpoint = statusEndpoint(o);
  auto socket = kj::str(endpoint.path);
  auto io = kj::setupAsyncIo();
  kj::Own<capnp::MallocMessageBuilder> message;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
    message = fetchStatus(io, kj::mv(endpoint), STATUS_TIMEOUT);
  })) {
    fprintf(stderr, "horlogectl: clockd is not running (%s does not answer: %s)\n", socket.cStr(),
            e->getType() == kj::Exception::Type::OVERLOADED ? "timed out" : errorText(*e).cStr());
    return EXIT_UNREACHABLE;
  }
  fillHostInfo(message->getRoot<ipc::SystemStatus>().initHost());
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

  if (o.legend && o.format == Format::TEXT && command.legend.size() > 0) {
    write(kj::str(command.legend, "\n"));
  }
  if (command.name == "status" && o.format == Format::TEXT) write(renderStatus(status));
  else if (command.name == "status" && o.format == Format::JSON) write(statusJson(status));
  else {
    Lookup lookup{userName};
    write(render(command.views(status, lookup), o.format));
  }
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
