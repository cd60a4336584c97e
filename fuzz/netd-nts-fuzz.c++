// libFuzzer target for netd's NTS rules (netd/nts-packet.h) on a request datagram that
// prepareReply() would answer. The first byte picks a mode: even, the datagram as it is (a
// forged cookie or authenticator: never OK); odd, the target first makes the request
// authentic (a cookie sealed under its key in the cookie field, the authenticator's tag
// recomputed over the fuzzed header and fields), so that the reply path is exercised.
// Asserts: parsing never reads past the datagram; only authentic requests pass; a reply is
// never larger than its request, echoes the unique identifier, and opens under S2C with
// cookies that open to the session's keys.
#include "nts-packet.h"
#include "packet.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace horloge;
using namespace horloge::netd;

namespace {

[[noreturn]] void fail(const char* what) {
  fprintf(stderr, "netd-nts-fuzz: violated: %s\n", what);
  abort();
}
#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

struct Keys {
  nts::AesSiv siv;
  nts::KeySet set;
  NtsCrypto crypto;
  nts::SessionKeys session;
  Keys() {
    set.keys = kj::heapArray<nts::ServerKey>(2);
    set.keys[0].id = 1;
    set.keys[1].id = 2;
    set.current = 1;
    for (size_t i = 0; i < nts::SIV_KEY_SIZE; ++i) {
      set.keys[0].key[i] = static_cast<uint8_t>(i);
      set.keys[1].key[i] = static_cast<uint8_t>(i * 7);
      session.c2s[i] = static_cast<uint8_t>(i * 3);
      session.s2c[i] = static_cast<uint8_t>(i * 5);
    }
    if (!crypto.cookies.set(set.clone())) abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Keys k;
  if (size < 1) return 0;
  bool fix = data[0] & 1;
  size_t length = size - 1;
  if (length < PACKET_SIZE || length % 4 != 0 || length > 2048) return 0;
  uint8_t* bytes = static_cast<uint8_t*>(malloc(length));
  memcpy(bytes, data + 1, length);

  NtsRequest r;
  NtsParse parsed = parseNts(bytes, length, r);
  if (parsed == NtsParse::NTS) {
    CHECK(r.uniqueIdLength >= 36 && r.uniqueId >= bytes + PACKET_SIZE);
    CHECK(r.authOffset + 4 + 4 + r.nonceLength + r.ciphertextLength <= length);
    if (fix && r.cookieLength == nts::COOKIE_SIZE && r.ciphertextLength == nts::SIV_TAG_SIZE) {
      uint8_t nonce[nts::COOKIE_NONCE_SIZE] = {};
      CHECK(nts::sealCookie(k.siv, k.set.keys[data[0] >> 7], k.session, nonce,
                            const_cast<uint8_t*>(r.cookie)));
      CHECK(k.siv.seal(kj::arrayPtr(k.session.c2s, 32), kj::arrayPtr(r.nonce, r.nonceLength),
                       kj::arrayPtr(bytes, r.authOffset), nullptr,
                       const_cast<uint8_t*>(r.ciphertext)));
    }
    nts::SessionKeys session;
    NtsCheck check = checkNts(k.crypto, bytes, r, session);
    if (check == NtsCheck::OK) {
      CHECK(memcmp(session.c2s, k.session.c2s, 32) == 0);
      uint8_t reply[2048] = {};
      memcpy(reply, bytes, PACKET_SIZE);
      uint8_t random[16 + 8 * 16] = {};
      size_t n = sealNtsReply(k.crypto, session, r, length, random, reply);
      CHECK(n > 0 && n <= length);
      CHECK(memcmp(reply + PACKET_SIZE, r.uniqueId, r.uniqueIdLength) == 0);
      size_t auth = PACKET_SIZE + r.uniqueIdLength;
      size_t cipher = size_t(reply[auth + 6]) << 8 | reply[auth + 7];
      CHECK(auth + 24 + cipher == n);
      uint8_t plain[2048];
      CHECK(k.siv.open(kj::arrayPtr(k.session.s2c, 32), kj::arrayPtr(reply + auth + 8, 16),
                       kj::arrayPtr(reply, auth), kj::arrayPtr(reply + auth + 24, cipher), plain));
      for (size_t off = 0; off + 104 <= cipher - 16; off += 104) {
        nts::SessionKeys back;
        CHECK(nts::openCookie(k.siv, k.set, kj::arrayPtr(plain + off + 4, 100), back) ==
              nts::CookieResult::OK);
      }
    } else {
      uint8_t reply[2048];
      CHECK(ntsNak(r, reply) <= length);
    }
  }
  free(bytes);
  return 0;
}
