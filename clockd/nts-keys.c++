#include "nts-keys.h"
#include "log.h"
#include "persist.h"
#include "read-file.h"
#include <cstring>
#include <kj/debug.h>
#include <kj/vector.h>
#include <sstream>
#include <sys/random.h>

namespace horloge::clockd {

namespace {

constexpr char HEADER[] = "horloge-nts-keys 1";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string NtsKeyStore::format(const nts::KeySet& set) {
  std::string out = std::string(HEADER) + "\n";
  // The current key last: the order of the lines is the order of creation.
  for (auto& k: set.keys) {
    out += std::to_string(k.id) + " " + std::to_string(k.createdNs) + " ";
    static const char digits[] = "0123456789abcdef";
    for (uint8_t b: k.key) {
      out += digits[b >> 4];
      out += digits[b & 15];
    }
    out += "\n";
  }
  return out;
}

nts::KeySet NtsKeyStore::parse(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  nts::KeySet set;
  if (!std::getline(in, line) || line != HEADER) return set;
  kj::Vector<nts::ServerKey> keys;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    uint64_t id;
    int64_t created;
    std::string hex;
    if (!(f >> id >> created >> hex) || id > 0xffffffffu || hex.size() != 2 * nts::SIV_KEY_SIZE) {
      return {};
    }
    nts::ServerKey k;
    k.id = static_cast<uint32_t>(id);
    k.createdNs = created;
    for (size_t i = 0; i < nts::SIV_KEY_SIZE; ++i) {
      int hi = hexDigit(hex[2 * i]), lo = hexDigit(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return {};
      k.key[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    for (auto& other: keys) if (other.id == k.id) return {};
    keys.add(k);
  }
  if (keys.size() == 0 || keys.size() > nts::MAX_SERVER_KEYS) return {};
  set.keys = keys.releaseAsArray();
  set.current = set.keys.size() - 1;
  return set;
}

NtsKeyStore::NtsKeyStore(std::string pathArg, int64_t rotateNs, int64_t nowNs)
    : path(kj::mv(pathArg)), rotateNs(rotateNs) {
  // Bounded as clockd's other state files: a runaway or special file is no key file.
  kj::String why;
  auto text = tryReadSmallFile(path.c_str(), MAX_STATE_FILE_BYTES, why);
  if (why.size() > 0) {
    log::warn(kj::str("NTS keys: ignoring ", why, "; making new keys (cookies issued before are "
                      "refused)"));
  }
  KJ_IF_MAYBE(t, text) {
    set = parse(std::string(t->begin(), t->size()));
    if (set.keys.size() == 0) {
      log::warn(kj::str("NTS keys: ", path.c_str(), " is not a key file; making new keys "
                        "(cookies issued before are refused)"));
    } else {
      log::info(kj::str("NTS keys: ", set.keys.size(), " key(s) read from ", path.c_str()));
    }
  }
  bool changed = set.keys.size() == 0;
  if (changed) addKey(nowNs);
  if (!rotateIfDue(nowNs) && changed) save();
}

int64_t NtsKeyStore::currentAgeNs(int64_t nowNs) const {
  return nowNs - set.keys[set.current].createdNs;
}

void NtsKeyStore::addKey(int64_t nowNs) {
  nts::ServerKey k;
  k.createdNs = nowNs;
  do {
    KJ_SYSCALL(getrandom(&k.id, sizeof(k.id), 0));
  } while (k.id == 0 || set.find(k.id) != nullptr);
  KJ_SYSCALL(getrandom(k.key, sizeof(k.key), 0));
  kj::Vector<nts::ServerKey> keys;
  // Keep the youngest MAX_SERVER_KEYS - 1 of the old ones.
  size_t skip = set.keys.size() >= nts::MAX_SERVER_KEYS ? set.keys.size() - nts::MAX_SERVER_KEYS + 1 : 0;
  for (size_t i = skip; i < set.keys.size(); ++i) keys.add(set.keys[i]);
  keys.add(k);
  set.keys = keys.releaseAsArray();
  set.current = set.keys.size() - 1;
}

bool NtsKeyStore::rotateIfDue(int64_t nowNs) {
  bool changed = false;
  // A current key from the future (the clock stepped back) is replaced too.
  int64_t age = currentAgeNs(nowNs);
  if (age >= rotateNs || age < -rotateNs) {
    addKey(nowNs);
    ++rotated;
    changed = true;
    log::info(kj::str("NTS keys: rotated (", set.keys.size(), " key(s) accepted)"));
  }
  // Drop the keys replaced more than a week ago: key i was replaced when key i + 1 was made.
  size_t drop = 0;
  while (drop + 1 < set.keys.size() && nowNs - set.keys[drop + 1].createdNs > NTS_KEEP_NS) ++drop;
  if (drop > 0) {
    set.keys = kj::heapArray<nts::ServerKey>(set.keys.slice(drop, set.keys.size()));
    set.current = set.keys.size() - 1;
    changed = true;
  }
  if (changed) save();
  return changed;
}

void NtsKeyStore::save() {
  writeAtomically(path, format(set), true, 0600);
}

}  // namespace horloge::clockd
