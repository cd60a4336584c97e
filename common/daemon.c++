#include "daemon.h"
#include "error-text.h"
#include "log.h"
#include <kj/exception.h>
#include <exception>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <csignal>

namespace horloge {

Config startDaemon(Role role, int argc, char** argv) {
  log::setTag(roleName(role));
  std::string path = DEFAULT_CONFIG;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
      path = argv[++i];
    } else {
      fprintf(stderr, "usage: horloge-%s [-f CONFIG]\n", roleName(role));
      exit(2);
    }
  }
  // A peer that vanishes mid-write must not kill us.
  signal(SIGPIPE, SIG_IGN);
  try {
    return loadConfig(path);
  } catch (const ConfigError& e) {
    log::error(e.what());
    exit(1);
  }
}

int runDaemon(kj::FunctionParam<int()> body) {
  try {
    return body();
  } catch (const kj::Exception& e) {
    log::error(errorText(e));
  } catch (const std::exception& e) {
    log::error(e.what());
  }
  return 1;
}

}  // namespace horloge
