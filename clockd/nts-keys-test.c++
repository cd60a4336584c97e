#include "nts-keys.h"
#include "persist.h"
#include <cstdio>
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace horloge;
using namespace horloge::clockd;

namespace {

constexpr int64_t S = 1'000'000'000;
constexpr int64_t DAY = 86400 * S;

std::string tempPath() {
  char tmpl[] = "/tmp/nts-keys-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return std::string(tmpl) + "/nts-keys";
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("NTS keys: made, persisted 0600, read back, rotated daily, kept a week") {
  std::string path = tempPath();
  int64_t t0 = 1'800'000'000 * S;
  uint32_t first;
  {
    NtsKeyStore store(path, DAY, t0);
    REQUIRE(store.keys().keys.size() == 1);
    first = store.keys().keys[0].id;
    CHECK(first != 0);
    struct stat st;
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(store.rotateIfDue(t0 + DAY - S));
    CHECK(store.rotateIfDue(t0 + DAY));
    CHECK(store.rotations() == 1);
    CHECK(store.keys().keys.size() == 2);
    CHECK(store.keys().keys[store.keys().current].id != first);
    CHECK(store.currentAgeNs(t0 + DAY + 5 * S) == 5 * S);
  }
  {
    // A restart a day later: the same two keys, then a rotation as the current one is due.
    NtsKeyStore store(path, DAY, t0 + DAY + 60 * S);
    CHECK(store.keys().keys.size() == 2);
    CHECK(store.keys().find(first) != nullptr);
    // Daily for ten days: the first key goes once its successor is a week old.
    for (int d = 2; d <= 10; ++d) store.rotateIfDue(t0 + d * DAY);
    CHECK(store.keys().find(first) == nullptr);
    // The current one and those replaced at most a week ago (day 3..10 replacements).
    CHECK(store.keys().keys.size() == 9);
  }
}

TEST_CASE("NTS keys: a short rotation keeps at most 16 keys; garbage files are replaced") {
  std::string path = tempPath();
  int64_t t0 = 1'800'000'000 * S;
  NtsKeyStore store(path, 10 * S, t0);
  for (int i = 1; i <= 40; ++i) store.rotateIfDue(t0 + i * 10 * S);
  CHECK(store.keys().keys.size() == nts::MAX_SERVER_KEYS);
  CHECK(store.keys().current == nts::MAX_SERVER_KEYS - 1);
  CHECK(NtsKeyStore::parse(NtsKeyStore::format(store.keys())).keys.size() == nts::MAX_SERVER_KEYS);
  for (const char* bad: {"", "horloge-nts-keys 1\n", "horloge-nts-keys 1\n1 2 zz\n",
                         "horloge-nts-keys 2\n1 2 00\n"}) {
    CHECK(NtsKeyStore::parse(bad).keys.size() == 0);
  }
  std::ofstream(path) << "not a key file\n";
  NtsKeyStore fresh(path, 10 * S, t0);
  CHECK(fresh.keys().keys.size() == 1);
  CHECK(slurp(path).rfind("horloge-nts-keys 1\n", 0) == 0);
}

TEST_CASE("NTS keys: the largest key file fits the state file limit; a larger one is replaced") {
  std::string path = tempPath();
  int64_t t0 = 1'800'000'000 * S;
  NtsKeyStore store(path, 10 * S, t0);
  for (int i = 1; i <= 40; ++i) store.rotateIfDue(t0 + i * 10 * S);
  CHECK(NtsKeyStore::format(store.keys()).size() <= MAX_STATE_FILE_BYTES);
  std::ofstream(path) << NtsKeyStore::format(store.keys()) << std::string(MAX_STATE_FILE_BYTES, '\n');
  NtsKeyStore fresh(path, 10 * S, t0 + 400 * S);
  CHECK(fresh.keys().keys.size() == 1);
  CHECK(slurp(path).size() <= MAX_STATE_FILE_BYTES);
}
