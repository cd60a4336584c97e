// The NTS server keys (the keys cookies are sealed under). clockd alone makes, rotates and
// persists them: it is the one process with a writable state directory, and it speaks to no
// network. netd (opens cookies, seals new ones in replies) and ntskd (seals the cookies of a
// key exchange) get copies over IPC at attach and at each rotation, and keep them in memory
// only. The key bytes are never logged, shown, nor put in the status or metrics.
//
// A new key every `rotate` seconds; a key stays accepted for KEEP_NS (a week) after it was
// replaced, at most MAX_SERVER_KEYS keys in all (the oldest go first). Persisted in
// statedir/nts-keys (0600, written to a temporary file then renamed, fsync'd), so cookies
// survive restarts of any daemon and reboots.
#pragma once
#include "keys.h"
#include <string>

namespace horloge::clockd {

constexpr int64_t NTS_KEEP_NS = 7 * 86400 * 1'000'000'000ll;

class NtsKeyStore {
public:
  // Reads `path` (a missing or unreadable file: logged by what, never by content, and a new
  // key made), then rotates if the current key is older than `rotateNs`, saving if anything
  // changed. Throws only if the file cannot be written.
  NtsKeyStore(std::string path, int64_t rotateNs, int64_t nowNs);

  // A new key when the current one is `rotateNs` old; keys past their week dropped. True when
  // the set changed (then it is saved, and the caller pushes it).
  bool rotateIfDue(int64_t nowNs);

  const nts::KeySet& keys() const { return set; }
  int64_t currentAgeNs(int64_t nowNs) const;
  uint64_t rotations() const { return rotated; }

  // The file's text for `set`, and back (nullopt-like: an empty set for garbage). Public for
  // the tests.
  static std::string format(const nts::KeySet& set);
  static nts::KeySet parse(const std::string& text);

private:
  std::string path;
  int64_t rotateNs;
  nts::KeySet set;
  uint64_t rotated = 0;

  void addKey(int64_t nowNs);
  void save();
};

}  // namespace horloge::clockd
