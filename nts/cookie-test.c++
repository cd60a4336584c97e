#include "cookie.h"
#include <cstring>
#include <doctest/doctest.h>

using namespace horloge::nts;

namespace {

KeySet twoKeys() {
  KeySet set;
  set.keys = kj::heapArray<ServerKey>(2);
  set.keys[0].id = 7;
  set.keys[1].id = 0x01020304;
  for (size_t i = 0; i < SIV_KEY_SIZE; ++i) {
    set.keys[0].key[i] = static_cast<uint8_t>(i);
    set.keys[1].key[i] = static_cast<uint8_t>(100 + i);
  }
  set.current = 1;
  return set;
}

}  // namespace

TEST_CASE("cookies: sealed under the current key, opened under any key of the set") {
  AesSiv siv;
  KeySet set = twoKeys();
  SessionKeys keys;
  for (size_t i = 0; i < SIV_KEY_SIZE; ++i) {
    keys.c2s[i] = static_cast<uint8_t>(i * 3);
    keys.s2c[i] = static_cast<uint8_t>(i * 5);
  }
  uint8_t nonce[COOKIE_NONCE_SIZE] = {1, 2, 3};
  uint8_t cookie[COOKIE_SIZE];
  REQUIRE(sealCookie(siv, set.keys[1], keys, nonce, cookie));
  CHECK(cookie[0] == 1);
  CHECK(cookie[3] == 4);   // the key id, big-endian
  SessionKeys back;
  REQUIRE(openCookie(siv, set, kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::OK);
  CHECK(memcmp(back.c2s, keys.c2s, SIV_KEY_SIZE) == 0);
  CHECK(memcmp(back.s2c, keys.s2c, SIV_KEY_SIZE) == 0);

  SUBCASE("an old key still opens its cookies") {
    REQUIRE(sealCookie(siv, set.keys[0], keys, nonce, cookie));
    CHECK(openCookie(siv, set, kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::OK);
  }
  SUBCASE("a key rotated out: unknown") {
    KeySet newer = set.clone();
    newer.keys[1].id = 99;
    CHECK(openCookie(siv, newer, kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::UNKNOWN_KEY);
  }
  SUBCASE("tampered, truncated or padded: bad") {
    cookie[50] ^= 0x40;
    CHECK(openCookie(siv, set, kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::BAD);
    cookie[50] ^= 0x40;
    CHECK(openCookie(siv, set, kj::arrayPtr(cookie, COOKIE_SIZE - 4), back) == CookieResult::BAD);
    uint8_t longer[COOKIE_SIZE + 4] = {};
    memcpy(longer, cookie, COOKIE_SIZE);
    CHECK(openCookie(siv, set, kj::arrayPtr(longer, sizeof(longer)), back) == CookieResult::BAD);
  }
  SUBCASE("the key id is authenticated: moved to another key of the set, refused") {
    cookie[0] = 0; cookie[1] = 0; cookie[2] = 0; cookie[3] = 7;
    CHECK(openCookie(siv, set, kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::BAD);
  }
}

TEST_CASE("cookies: a prepared key set seals and opens the same cookies as the one-off calls") {
  AesSiv siv;
  CookieKeys prepared;
  SessionKeys keys, back;
  for (size_t i = 0; i < SIV_KEY_SIZE; ++i) {
    keys.c2s[i] = static_cast<uint8_t>(i * 11);
    keys.s2c[i] = static_cast<uint8_t>(i * 13);
  }
  uint8_t nonce[COOKIE_NONCE_SIZE] = {4, 5, 6};
  uint8_t cookie[COOKIE_SIZE], other[COOKIE_SIZE];
  CHECK(prepared.empty());
  CHECK_FALSE(prepared.seal(keys, nonce, cookie));   // no keys yet: nothing sealed, nothing opened
  REQUIRE(sealCookie(siv, twoKeys().keys[1], keys, nonce, other));
  CHECK(prepared.open(kj::arrayPtr(other, COOKIE_SIZE), back) == CookieResult::UNKNOWN_KEY);

  REQUIRE(prepared.set(twoKeys()));
  CHECK_FALSE(prepared.empty());
  REQUIRE(prepared.seal(keys, nonce, cookie));
  CHECK(memcmp(cookie, other, COOKIE_SIZE) == 0);   // under the current key, the same bytes
  for (int round = 0; round < 3; ++round) {          // its contexts are reused, not reset
    REQUIRE(prepared.open(kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::OK);
    CHECK(memcmp(back.c2s, keys.c2s, SIV_KEY_SIZE) == 0);
    CHECK(memcmp(back.s2c, keys.s2c, SIV_KEY_SIZE) == 0);
  }
  REQUIRE(sealCookie(siv, twoKeys().keys[0], keys, nonce, other));   // the older key
  CHECK(prepared.open(kj::arrayPtr(other, COOKIE_SIZE), back) == CookieResult::OK);
  REQUIRE(openCookie(siv, twoKeys(), kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::OK);

  cookie[60] ^= 1;
  CHECK(prepared.open(kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::BAD);
  cookie[60] ^= 1;
  CHECK(prepared.open(kj::arrayPtr(cookie, COOKIE_SIZE - 4), back) == CookieResult::BAD);
  uint8_t moved[COOKIE_SIZE];   // moved to the other key of the set (id 7): refused
  memcpy(moved, cookie, COOKIE_SIZE);
  moved[0] = moved[1] = moved[2] = 0;
  moved[3] = 7;
  CHECK(prepared.open(kj::arrayPtr(moved, COOKIE_SIZE), back) == CookieResult::BAD);

  // Rotated: the old key's cookies are unknown, the new set's current key seals.
  KeySet newer = twoKeys();
  newer.keys[1].id = 99;
  newer.current = 0;
  REQUIRE(prepared.set(kj::mv(newer)));
  CHECK(prepared.open(kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::UNKNOWN_KEY);
  REQUIRE(prepared.seal(keys, nonce, cookie));
  CHECK(cookie[3] == 7);
  CHECK(prepared.open(kj::arrayPtr(cookie, COOKIE_SIZE), back) == CookieResult::OK);
}
