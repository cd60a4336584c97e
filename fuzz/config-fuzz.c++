// libFuzzer target for horloge.conf parsing (common/config.h).
// parseConfig() on arbitrary text either returns a Config within the documented ranges or
// throws ConfigError("fuzz.conf:LINE: message") with LINE a line of the input; nothing else.
#include "config.h"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace horloge;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "config-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

const std::string PATH = "fuzz.conf";

void checkMessage(const std::string& text, const std::string& m) {
  if (m.compare(0, PATH.size() + 1, PATH + ":") != 0) {
    fprintf(stderr, "config-fuzz: message '%s'\n", m.c_str());
    fail("message starts with the path and ':'");
  }
  size_t i = PATH.size() + 1;
  long line = 0;
  size_t digits = 0;
  while (i < m.size() && m[i] >= '0' && m[i] <= '9' && digits < 12) {
    line = line * 10 + (m[i++] - '0');
    ++digits;
  }
  if (digits == 0 || m.compare(i, 2, ": ") != 0 || m.size() <= i + 2) {
    fprintf(stderr, "config-fuzz: message '%s'\n", m.c_str());
    fail("message has 'path:LINE: text'");
  }
  // getline() lines: one per '\n', plus a last one without '\n'.
  long lines = 0;
  for (char c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  CHECK(line >= 1 && line <= lines);
}

void checkConfig(const Config& c) {
  CHECK(c.path == PATH);
  for (auto& l : c.listen) CHECK(!l.address.empty() && l.port >= 1);
  for (auto& r : c.refclocks) {
    CHECK((r.driver == "sim" || r.driver == "nmea" || r.driver == "pps" || r.driver == "shm" ||
           r.driver == "sock") && r.line >= 1);
    CHECK((r.driver == "nmea" || r.driver == "pps" || r.driver == "sock") == !r.device.empty());
    CHECK(r.jitter >= 0 && r.jitter <= 0.1 && r.offset >= -1 && r.offset <= 1);
    CHECK(r.nmeaDelay >= 0 && r.nmeaDelay <= 0.9);
  }
  CHECK(std::isfinite(c.maxHoldover) && c.maxHoldover >= 1 && c.maxHoldover <= 30 * 86400);
  CHECK(c.workers <= 64);
  CHECK(c.monitorEnabled == !c.monitorAddress.empty());
  if (c.monitorEnabled) CHECK(c.monitorPort >= 1);
  CHECK(c.rundir.size() >= 1 && c.rundir[0] == '/');
  CHECK(c.statedir.size() >= 1 && c.statedir[0] == '/');
  CHECK(c.monitorCert.empty() || c.monitorCert[0] == '/');
  CHECK(c.monitorKey.empty() || c.monitorKey[0] == '/');
  for (auto& u : c.users) CHECK(!u.empty() && u.size() <= 32 && u[0] != '-');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 1 << 16) return 0;   // loadConfig() caps files at 1 MiB; keep runs fast
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    Config c = parseConfig(text, PATH);
    checkConfig(c);
  } catch (const ConfigError& e) {
    checkMessage(text, e.what());
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
  return 0;
}
