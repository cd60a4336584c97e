// libFuzzer target for leap-seconds.list parsing (clockd/leap-file.h).
// parseLeapFile() on arbitrary text either returns a table whose expiry is set, whose entries
// are in order one second apart with a plausible TAI-UTC, or fails (failWith's kj::Exception)
// naming the problem (never another exception: no std::out_of_range from a long number). Each input
// is parsed twice: as given, and with its #h line replaced by the right SHA-1 of its numbers
// (computed here, independently of the parser) so that the checks after the hash are reached.
// leapStatus() on every table, around each of its entries, announces only what the kernel is
// told a day before, and only a leap the table holds.
#include "leap-file.h"
#include <openssl/sha.h>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <kj/exception.h>
#include <string>

using namespace horloge::clockd;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "leap-file-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

// The text with its #h lines replaced by one holding the SHA-1 of the numbers: those of the
// #$ and #@ lines, and both of each entry line, in order (the IERS rule).
std::string rehashed(const std::string& text) {
  std::istringstream in(text);
  std::string line, out, hashed;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string a, b;
    words >> a >> b;
    if (a == "#h") continue;
    if (a == "#$" || a == "#@") hashed += b;
    else if (!a.empty() && a[0] != '#') hashed += a + b;
    out += line + "\n";
  }
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(hashed.data()), hashed.size(), md);
  char h[64];
  snprintf(h, sizeof(h), "#h %02x%02x%02x%02x %02x%02x%02x%02x %02x%02x%02x%02x %02x%02x%02x%02x "
           "%02x%02x%02x%02x\n", md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
           md[9], md[10], md[11], md[12], md[13], md[14], md[15], md[16], md[17], md[18], md[19]);
  return out + h;
}

void checkTable(const LeapTable& t) {
  CHECK(t.expiresUnix > 0);
  CHECK(!t.entries.empty());
  for (size_t i = 0; i < t.entries.size(); ++i) {
    CHECK(t.entries[i].taiMinusUtc >= 0 && t.entries[i].taiMinusUtc <= 1000);
    if (i > 0) {
      CHECK(t.entries[i].unixTime > t.entries[i - 1].unixTime);
      int d = t.entries[i].taiMinusUtc - t.entries[i - 1].taiMinusUtc;
      CHECK(d == 1 || d == -1);
    }
  }
  for (auto& e: t.entries) {
    for (int64_t delta: {-40 * 86400LL, -86400LL, -1LL, 0LL, 1LL}) {
      int64_t now = e.unixTime + delta;
      LeapStatus s = leapStatus(t, now);
      CHECK(s.expired == (now >= t.expiresUnix));
      if (s.kernel != LeapAction::NONE) CHECK(s.announce == s.kernel);
      if (s.announce != LeapAction::NONE) {
        bool held = false;
        for (auto& x: t.entries) held = held || x.unixTime == s.at;
        CHECK(held && s.at > now);
      }
    }
  }
}

void parse(const std::string& text, bool rightHash) {
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() { checkTable(parseLeapFile(text)); })) {
    // The refusal an operator reads (failWith); an assertion or a library's exception is ours.
    CHECK(e->getType() == kj::Exception::Type::FAILED);
    std::string why = e->getDescription().cStr();
    CHECK(!why.empty());
    CHECK(why.find("leap file") != std::string::npos);
    if (rightHash) CHECK(why.find("hash mismatch") == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > MAX_LEAP_FILE_BYTES) return 0;   // chooseLeapFile() reads no more
  std::string text(reinterpret_cast<const char*>(data), size);
  parse(text, false);
  parse(rehashed(text), true);
  return 0;
}
