#include "leap-file.h"
#include "error.h"
#include "read-file.h"
#include <openssl/sha.h>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <kj/debug.h>

namespace horloge::clockd {

namespace {

constexpr int64_t NTP_UNIX = 2'208'988'800;   // 1900 to 1970


int64_t number(const std::string& s, int line) {
  // 18 digits at most: every such number fits an int64 (no std::out_of_range from stoll).
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
    failWith(kj::str("leap file line ", line, ": bad number '", s, "'"));
  }
  return std::stoll(s);
}

}  // namespace

LeapTable parseLeapFile(const std::string& text) {
  LeapTable t;
  std::string hashed;          // what the #h line is the SHA-1 of: the numbers, in order
  std::optional<std::string> hashLine;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::istringstream words(line);
    std::string a, b;
    words >> a;
    if (a == "#$" || a == "#@") {
      words >> b;
      int64_t v = number(b, n);
      hashed += b;
      (a == "#$" ? t.updatedUnix : t.expiresUnix) = v - NTP_UNIX;
    } else if (a == "#h") {
      hashLine = line.substr(line.find('h') + 1);
    } else if (!a.empty() && a[0] != '#') {
      words >> b;
      int64_t when = number(a, n);
      hashed += a + b;
      int64_t offset = number(b, n);
      if (offset > 1000) {
        failWith(kj::str("leap file line ", n, ": TAI-UTC ", b.c_str(), " out of range"));
      }
      t.entries.push_back({when - NTP_UNIX, static_cast<int>(offset)});
    }
  }
  if (t.expiresUnix <= 0) failWith(kj::str("leap file: no expiry (#@) line"));
  if (t.entries.empty()) failWith(kj::str("leap file: no entries"));
  if (!hashLine) failWith(kj::str("leap file: no hash (#h) line"));
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(hashed.data()), hashed.size(), md);
  // Five 32-bit words in hex; leading zeros may be dropped.
  std::istringstream hw(*hashLine);
  for (int i = 0; i < 5; ++i) {
    std::string w;
    hw >> w;
    uint32_t expect = (uint32_t(md[4 * i]) << 24) | (uint32_t(md[4 * i + 1]) << 16) |
                      (uint32_t(md[4 * i + 2]) << 8) | md[4 * i + 3];
    bool hex = !w.empty() && w.size() <= 8 &&
               w.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!hex || std::stoul(w, nullptr, 16) != expect) {
      failWith(kj::str("leap file: hash mismatch (damaged or edited)"));
    }
  }
  for (size_t i = 1; i < t.entries.size(); ++i) {
    int d = t.entries[i].taiMinusUtc - t.entries[i - 1].taiMinusUtc;
    if (t.entries[i].unixTime <= t.entries[i - 1].unixTime || (d != 1 && d != -1)) {
      failWith(kj::str("leap file: entries out of order or not one second apart"));
    }
  }
  return t;
}

LeapStatus leapStatus(const LeapTable& table, int64_t now) {
  LeapStatus s;
  s.expired = now >= table.expiresUnix;
  for (size_t i = 1; i < table.entries.size(); ++i) {
    const LeapEntry& e = table.entries[i];
    if (e.unixTime <= now) continue;
    LeapAction a = e.taiMinusUtc > table.entries[i - 1].taiMinusUtc ? LeapAction::INSERT
                                                                   : LeapAction::DELETE;
    // Leaps fall at the end of June (30 days) or December (31): the last month before.
    time_t at = e.unixTime;
    struct tm tm;
    gmtime_r(&at, &tm);
    int64_t month = (tm.tm_mon == 6 ? 30 : 31) * 86400LL;
    if (now >= e.unixTime - month) {
      s.announce = a;
      s.at = e.unixTime;
    }
    if (now >= e.unixTime - 86400) s.kernel = a;
    break;
  }
  return s;
}

LeapFileChoice chooseLeapFile(const std::vector<std::string>& paths) {
  LeapFileChoice choice;
  std::string reasons;
  for (const std::string& path: paths) {
    std::string why;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&]() {
      kj::String error;
      KJ_IF_MAYBE(f, tryReadSmallFile(path.c_str(), MAX_LEAP_FILE_BYTES, error)) {
        LeapTable t = parseLeapFile(std::string(f->begin(), f->size()));
        if (!choice.table || t.expiresUnix > choice.table->expiresUnix) {
          choice.table = std::move(t);
          choice.path = path;
        }
      } else if (error.size() > 0) {
        failWith(kj::str("leap file ", error));
      } else {
        failWith(kj::str("cannot read ", path.c_str()));
      }
    })) {
      why = e->getDescription().cStr();
    } else {
      continue;
    }
    // The parser's messages do not name the file: say which one when there are several.
    if (why.find(path) == std::string::npos && paths.size() > 1) why = path + ": " + why;
    reasons += (reasons.empty() ? "" : "; ") + why;
  }
  if (!choice.table) choice.alarm = paths.size() > 1 ? "no usable leap file: " + reasons : reasons;
  if (paths.empty()) choice.alarm = "no leap file";
  return choice;
}

std::string utcDate(int64_t unixTime) {
  time_t t = unixTime;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace horloge::clockd
