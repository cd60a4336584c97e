// NTS cookies (RFC 8915 §6): what a client hands back with each request so that netd can find
// the keys of its session without keeping any state. Layout, ours alone (only we read them):
//   key id (4, big-endian) | nonce (16) | AES-SIV(server key, ad = key id, nonce)(C2S | S2C)
// i.e. 4 + 16 + 16 + 64 = COOKIE_SIZE bytes.
#pragma once
#include "keys.h"

namespace horloge::nts {

constexpr size_t COOKIE_NONCE_SIZE = 16;
constexpr size_t COOKIE_SIZE = 4 + COOKIE_NONCE_SIZE + SIV_TAG_SIZE + 2 * SIV_KEY_SIZE;   // 100

// The two keys of one NTS-KE session (RFC 8915 §5.1), exported from its TLS session.
struct SessionKeys {
  uint8_t c2s[SIV_KEY_SIZE];
  uint8_t s2c[SIV_KEY_SIZE];
};

// Seals `keys` under `key` with `nonce` (random, COOKIE_NONCE_SIZE bytes) into `out`.
bool sealCookie(AesSiv& siv, const ServerKey& key, const SessionKeys& keys, const uint8_t* nonce,
                uint8_t* out);

enum class CookieResult : uint8_t { OK, UNKNOWN_KEY, BAD };

// Opens a cookie sealed under one of `set`'s keys. UNKNOWN_KEY: its key is gone (rotated out,
// or never ours); BAD: wrong size or not authentic.
CookieResult openCookie(AesSiv& siv, const KeySet& set, kj::ArrayPtr<const uint8_t> cookie,
                        SessionKeys& keys);

// A key set ready to seal and open many cookies, as netd's workers do for every NTS request:
// each server key's AES schedules are made when the set changes (daily), not per cookie. Its
// contexts are allocated when it is made (before lockdown). One thread.
class CookieKeys {
public:
  CookieKeys();
  KJ_DISALLOW_COPY(CookieKeys);

  // Takes `set` (checked by keySetFromWire()) and keys a SivKey per key. False if OpenSSL
  // failed: then it holds no keys, as before the first set().
  bool set(KeySet set);
  bool empty() const { return keys.keys.size() == 0; }
  const KeySet& keySet() const { return keys; }

  // sealCookie() under the current key; openCookie() under any key of the set (none: UNKNOWN_KEY).
  bool seal(const SessionKeys& session, const uint8_t* nonce, uint8_t* out);
  CookieResult open(kj::ArrayPtr<const uint8_t> cookie, SessionKeys& session);

private:
  KeySet keys;
  kj::Array<SivKey> prepared;   // MAX_SERVER_KEYS; prepared[i] keyed with keys.keys[i]
};

}  // namespace horloge::nts
